"""The scenario format: what a scenario is and how a file becomes one. Pure: no store, no I/O.

- `definition`: the normalized definition (one `Tool`, one `Task`, `Rewards`) and its version;
- `parse`: bytes in, a definition and a report out, from one of the readers:
  `safe_json`, `safe_yaml` and `chat_jsonl` (OpenAI chat fine-tuning logs), by `media`;
- `tool_shapes`: a tool pasted in OpenAI, MCP or plain shape, read into `Tool`'s fields;
- `inputs`, `checks`, `split`, `limits`, `problems`: the strict input forms, the checks
  across sections, the train/held-out split, the size bounds and the problems reported;
- `builtin/`: the built-in scenarios, as scenario files read by the same code.

A new kind of content beside tools and tasks gets a section of its own in `definition` and a
reader beside `inputs`; the tools it names are the scenario's `Tool`s, never a second model.
"""
