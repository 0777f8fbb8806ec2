"""The scenarios as Gymnasium environments: registered, checked, and behaving as documented."""

from __future__ import annotations

import dataclasses

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

from trainer import scenarios
from trainer.env import GYM_IDS, REWARD_MISTAKE, REWARD_PROGRESS, REWARD_SOLVED, ToolUseEnv
from trainer.scenarios.base import ScenarioSpec, TaskSpec


@pytest.mark.parametrize("gym_id", sorted(GYM_IDS.values()))
def test_each_scenario_is_a_registered_gymnasium_env_that_passes_the_checker(gym_id: str) -> None:
    env = gymnasium.make(gym_id)
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=3)
    assert isinstance(obs["task"], str) and info["solution"]


def play(env: ToolUseEnv, task: TaskSpec, tools: list[str]) -> tuple[float, dict[str, object]]:
    env.reset(seed=0, options={"task": task})
    total, info = 0.0, {}
    for tool in [*tools, "finish"]:
        action = env.finish if tool == "finish" else env.tools.index(tool)
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        if terminated or truncated:
            break
    return total, info


def spec_of(scenario_id: str, **changes: object) -> ScenarioSpec:
    return dataclasses.replace(scenarios.get(scenario_id), **changes)  # type: ignore[arg-type]


def reliable(scenario_id: str) -> ToolUseEnv:
    """An environment whose tools never fail, to test the rules alone."""
    return ToolUseEnv(spec_of(scenario_id, failure_rates={}))


def test_the_solution_then_finish_solves_the_task() -> None:
    env = reliable("customer_support")
    task = env.tasks[0]
    total, info = play(env, task, list(task.solution))
    assert info["solved"] is True
    assert total == pytest.approx(REWARD_PROGRESS * len(task.solution) + REWARD_SOLVED)


def test_a_wrong_tool_is_a_mistake_and_the_task_is_no_longer_solved_exactly() -> None:
    env = reliable("customer_support")
    task = env.tasks[0]
    wrong = next(t for t in env.tools if t not in task.solution)
    total, info = play(env, task, [wrong, *task.solution])
    assert info["solved"] is False
    assert total == pytest.approx(REWARD_MISTAKE + REWARD_PROGRESS * len(task.solution))


def test_the_observation_counts_mistakes_after_progress_clears_the_wrong_tools() -> None:
    env = reliable("customer_support")
    task = next(t for t in env.tasks if len(t.solution) > 1)
    wrong = next(t for t in env.tools if t not in task.solution)
    env.reset(seed=0, options={"task": task})
    obs, *_ = env.step(env.tools.index(wrong))
    assert obs["mistakes"] == 1 and obs["wrong"][env.tools.index(wrong)] == 1
    obs, *_ = env.step(env.tools.index(task.solution[0]))
    assert obs["mistakes"] == 1 and obs["wrong"].sum() == 0


def test_finishing_early_leaves_the_task_unfinished() -> None:
    env = reliable("customer_support")
    task = next(t for t in env.tasks if len(t.solution) > 1)
    total, info = play(env, task, list(task.solution[:1]))
    assert info["solved"] is False and total < 0


def test_a_failed_call_changes_nothing_and_a_retry_succeeds() -> None:
    spec = scenarios.get("customer_support")
    env = ToolUseEnv(spec_of("customer_support", failure_rates=dict.fromkeys(spec.tools, 1.0)))
    task = env.tasks[0]
    env.reset(seed=0, options={"task": task})
    obs, *_ = env.step(env.tools.index(task.solution[0]))
    assert obs["done"].sum() == 0 and env.tools[obs["failed"]] == task.solution[0]
    env.spec_.failure_rates.clear()
    obs, *_ = env.step(env.tools.index(task.solution[0]))
    assert obs["done"].sum() == 1 and obs["failed"] == len(env.tools)


def test_a_fallback_stands_in_for_its_tool_right_after_it_failed() -> None:
    spec = scenarios.get("customer_support")
    primary, fallback = next(iter(spec.fallbacks.items()))
    env = ToolUseEnv(spec_of("customer_support", failure_rates={primary: 1.0, fallback: 0.0}))
    task = next(t for t in env.tasks if t.solution[0] == primary)
    _, info = play(env, task, [primary, fallback, *task.solution[1:]])
    assert info["solved"] is True


def test_a_fallback_called_before_its_tool_failed_is_a_mistake() -> None:
    """Were it right at any time, a fallback that never fails would beat its tool."""
    env = reliable("customer_support")
    primary, fallback = next(iter(env.spec_.fallbacks.items()))
    task = next(t for t in env.tasks if t.solution[0] == primary)
    env.reset(seed=0, options={"task": task})
    obs, reward, *_ = env.step(env.tools.index(fallback))
    assert obs["mistakes"] == 1 and obs["done"].sum() == 0 and reward < 0


def test_a_task_says_which_tools_it_offers_and_calling_another_is_a_mistake() -> None:
    spec = scenarios.get("customer_support")
    task = next(t for t in spec.tasks if len(t.solution) == 2)
    other = next(t for t in spec.tools if t not in task.solution)
    offered = tuple(t for t in spec.tools if t in task.solution or t == other)
    narrow = dataclasses.replace(task, tools=offered)
    env = ToolUseEnv(spec_of("customer_support", failure_rates={}), tasks=[narrow])
    obs, info = env.reset(seed=0, options={"task": narrow})
    assert info["available"] == offered
    assert [env.tools[i] for i, on in enumerate(obs["available"]) if on] == list(offered)
    _, info = play(env, narrow, list(task.solution))
    assert info["solved"] is True

    # The solution's first tool, if it were not offered, would be a mistake to call.
    hidden = dataclasses.replace(task, tools=tuple(t for t in offered if t != task.solution[0]))
    total, info = play(env, hidden, list(task.solution))
    assert info["solved"] is False and total < REWARD_SOLVED


def test_the_rewards_are_the_scenarios() -> None:
    base = scenarios.get("customer_support")
    rewards = base.rewards.model_copy(update={"solved": 3.0, "progress": 0.25})
    env = ToolUseEnv(spec_of("customer_support", failure_rates={}, rewards=rewards))
    task = env.tasks[0]
    total, _ = play(env, task, list(task.solution))
    assert total == pytest.approx(0.25 * len(task.solution) + 3.0)


def test_the_same_seed_gives_the_same_episodes() -> None:
    def episodes(seed: int) -> list[str]:
        env = ToolUseEnv(scenarios.get("code_review"))
        env.reset(seed=seed)
        return [env.reset()[1]["task_id"] for _ in range(20)]

    assert episodes(5) == episodes(5) != episodes(6)


def test_heldout_tasks_never_appear_in_training() -> None:
    spec = scenarios.get("data_analysis")
    train, heldout = ToolUseEnv(spec, split="train"), ToolUseEnv(spec, split="heldout")
    assert not {t.id for t in train.tasks} & {t.id for t in heldout.tasks}
    assert len(heldout.tasks) >= 0.2 * (len(train.tasks) + len(heldout.tasks))
