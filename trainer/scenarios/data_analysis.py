"""Data analysis: requests to load or query data, shape it, model it and report on it.

Every intent is resolved by a short, fixed sequence of the analysis tools: most start with
`load_dataset` (a file) or `query_database` (a live table), and what follows depends on what
was asked: statistics, a chart, a pivot, a join, a model, anomalies or a forecast, and
whether the result is a chart or an exported report. Profiling before cleaning and cleaning
before profiling use the same tools in another order. The requests are written from phrasing
templates filled with slot values by a fixed-seed generator, so every build yields the same
tasks with the same ids.
"""

from __future__ import annotations

from trainer.scenarios.base import Intent, ScenarioSpec, build_spec

ID = "data_analysis"
PREFIX = "da"
SEED = 20240603

TOOLS = (
    "load_dataset",
    "query_database",
    "clean_data",
    "describe_stats",
    "group_by",
    "pivot_table",
    "join_tables",
    "run_regression",
    "detect_anomalies",
    "forecast_series",
    "plot_chart",
    "export_report",
)

# What each tool does, as a user would describe it to a model reading tools.
DESCRIPTIONS = {
    "load_dataset": "Load a dataset from a file such as CSV, Excel or Parquet.",
    "query_database": "Run a SQL query against the database and fetch the rows.",
    "clean_data": "Clean the data: drop duplicates, fix types, fill or remove missing values.",
    "describe_stats": "Summarize the data: counts, means, medians, spreads and distributions.",
    "group_by": "Group rows by one or more columns and aggregate each group.",
    "pivot_table": "Build a pivot table that crosses two dimensions of the data.",
    "join_tables": "Join two tables on a shared key column.",
    "run_regression": "Fit a regression model to explain one variable by others.",
    "detect_anomalies": "Find outliers and unusual values in the data.",
    "forecast_series": "Forecast future values of a time series.",
    "plot_chart": "Draw a chart of the data: line, bar, scatter or histogram.",
    "export_report": "Export the results as a report or file to share.",
}

# (intent, solution, templates: one a line, each with at least one {slot})
INTENTS: tuple[Intent, ...] = (
    (
        "summary_stats",
        ("load_dataset", "describe_stats"),
        """
        Can you give me the basic statistics (mean, median, spread) for {file}?
        quick summary of {file} pls
        Please provide descriptive statistics for the {metric} column in {file}.
        describe {file}
        I just need the averages and min/max of {metric} in {file}, is that so hard?
        hey wats the avg {metric} in {file}
        {name} from {team} sent over {file} this morning; what does the distribution of {metric} look like?
        Load {file} and tell me the mean, std and quartiles of every numeric column.
        How many rows are in {file}, and what are typical values of {metric}?
        need a quick overview of {file} before the meeting on {day}, just numbers
    """,
    ),
    (
        "clean_then_summarize",
        ("load_dataset", "clean_data", "describe_stats"),
        """
        {file} has duplicate rows and blank {metric} values. Clean it up and then give me summary stats.
        pls fix the missing values in {file} then describe it
        Please remove duplicates and handle nulls in {file}, then report descriptive statistics of {metric}.
        clean {file} + stats on {metric}
        The export {file} is FULL of junk rows and N/A strings. Clean it and tell me the real average {metric}.
        hey {file} has some weird dates and empty cells, can u tidy it and give me the numbers
        {name} merged exports by hand into {file}, so there are repeated headers inside. Clean it and summarise {metric}.
        Strip whitespace, fix types and drop duplicates in {file}; then I want mean and median {metric}.
        After cleaning {file} (there are negative quantities that are typos), what's the distribution of {metric}?
        {file} is messy: standardise the {dimension} spellings, then describe {metric}.
    """,
    ),
    (
        "data_quality_audit",
        ("load_dataset", "describe_stats", "clean_data"),
        """
        Before we use {file}, profile it to find out what's wrong, then clean it and hand back the fixed dataset.
        audit data quality of {file} and fix what u find
        Please assess the quality of {file} (null rates, outliers, value ranges) and subsequently produce a cleaned version.
        profile + clean {file}
        I don't trust {file} at all. Check the column stats first and THEN fix whatever is broken.
        hey can u check how bad {file} is (nulls etc) and clean it for me after
        {name} wants to reuse {file} for a churn model; first tell us how many nulls and odd values each column has, then clean them.
        Run a data profile on {file} and, based on it, repair the {metric} column.
        Give me null counts and ranges for {file}, then prepare a clean copy.
        first look at the stats of {file} to spot problems, then clean it up
    """,
    ),
    (
        "group_chart",
        ("load_dataset", "group_by", "plot_chart"),
        """
        Show me total {metric} by {dimension} from {file} as a bar chart.
        chart {metric} per {dimension}, data in {file}
        Please produce a visualisation of average {metric} broken down by {dimension}, using {file}.
        bar chart {metric} by {dimension}, {file}
        I need a chart of {metric} by {dimension} for the board deck in an hour. Use {file}.
        hey can u plot {metric} for each {dimension}? file is {file}
        {name} asked which {dimension} brings in the most {metric}; a chart from {file} would answer it.
        Aggregate {metric} by {dimension} in {file} and graph it.
        Which {dimension} has the highest {metric}? Visualise it from {file}, please.
        make a bar chart of {metric} split by {dimension} ({file})
    """,
    ),
    (
        "pivot_export",
        ("load_dataset", "pivot_table", "export_report"),
        """
        Build a pivot of {metric} with {dimension} as rows and month as columns from {file}, and export it to Excel.
        crosstab {dimension} x month of {metric}, {file}, send as xlsx
        Please prepare a cross-tabulation of {metric} by {dimension} and quarter from {file} and deliver it as a report.
        pivot {file} {dimension}/month -> excel
        Finance needs the {metric} pivot by {dimension} and month from {file} as a spreadsheet TODAY.
        hey can u make me a pivot table from {file} ({dimension} vs week) and export it
        {name} from {team} wants a matrix of {metric}, {dimension} down the side and months across, from {file}, as a PDF.
        Reshape {file} so each {dimension} is a row and each month a column with summed {metric}; export the result.
        Spreadsheet please: {metric} per {dimension} per month from {file}.
        need a pivot report of {file} for the meeting on {day}, {metric} by {dimension} and month
    """,
    ),
    (
        "join_group",
        ("load_dataset", "join_tables", "group_by"),
        """
        Combine {file} with {file2} on customer_id and give me {metric} per {dimension}.
        merge {file} and {file2}, then totals by {dimension}
        Please join {file} to {file2} using the shared key and aggregate {metric} by {dimension}.
        join {file} {file2}, sum {metric} by {dimension}
        The {dimension} lives in {file2} and the {metric} in {file}. Why do I have to ask twice? Put them together and total it.
        hey can u match {file} with {file2} and tell me {metric} for each {dimension}
        {name} needs {metric} by {dimension}, but {file} only has ids; the lookup is in {file2}.
        Enrich {file} with the attributes in {file2}, then summarise {metric} per {dimension}.
        Look up each row of {file} in {file2} and roll up {metric} by {dimension}.
        {file} + {file2} joined, grouped by {dimension}, numbers only, no chart
    """,
    ),
    (
        "regression",
        ("load_dataset", "clean_data", "run_regression"),
        """
        Does {driver} drive {metric}? Use {file}, there are some missing values to deal with first.
        regress {metric} on {driver} in {file}
        Please estimate the effect of {driver} on {metric} with a linear model, using {file} after removing invalid rows.
        {metric} ~ {driver}, {file}
        Marketing keeps claiming {driver} boosts {metric}. Prove it or disprove it with {file}.
        hey is there a relationship between {driver} and {metric} in {file}? data is kinda messy
        {name} wants the coefficient of {driver} on {metric} controlling for {dimension}, from {file}.
        How much does {metric} change per unit of {driver}? Fit a model on {file} once the nulls are handled.
        Is {driver} a significant predictor of {metric}? Data: {file}, some rows are broken.
        model {metric} as a function of {driver} and {dimension} from {file}, clean it first
    """,
    ),
    (
        "anomaly_chart",
        ("load_dataset", "detect_anomalies", "plot_chart"),
        """
        Find the unusual spikes in {metric} in {file} and show them on a chart.
        any outliers in {metric}? {file}, plot them
        Please identify anomalous values of {metric} in {file} and visualise them over time.
        outliers {metric} {file} chart
        Something weird happened to {metric} around {day} and nobody can tell me what. Find the anomalies in {file} and graph them.
        hey can u spot the weird days in {file} and highlight them on a graph
        {name} thinks some {dimension} values in {file} have suspicious {metric}; flag them and plot.
        Detect outliers in {file} ({metric}) and mark them on a line chart.
        Which points in {file} are abnormal for {metric}? A picture would help.
        flag anomalies in the {metric} series of {file}, with a plot
    """,
    ),
    (
        "anomaly_db_report",
        ("query_database", "detect_anomalies", "export_report"),
        """
        Pull {metric} from the {table} table in the warehouse, find anomalies, and send me a report.
        query {table} for {metric}, flag outliers, export
        Please extract {metric} from the {table} database table, detect anomalous records and produce a written report.
        anomalies in db table {table}, report
        Audit wants a report of every suspicious {metric} in the {table} table by {day}. Get it from the database.
        hey can u check the prod db ({table}) for weird {metric} values and write it up
        {name} from {team} suspects fraud; run the anomaly check on {metric} straight from the {table} table and export the findings.
        From the warehouse table {table}, identify outlier {metric} rows and export them as a PDF summary.
        Need an exceptions report: abnormal {metric} in {table} (live database, not the CSV).
        scan {table} in postgres for {metric} outliers and give me a document
    """,
    ),
    (
        "forecast_chart",
        ("load_dataset", "forecast_series", "plot_chart"),
        """
        Forecast next quarter's {metric} from {file} and plot it with the history.
        predict {metric} for next 3 months, {file}, chart pls
        Please produce a 12-week forecast of {metric} based on {file}, displayed as a chart with confidence bands.
        forecast {metric} {file} plot
        Leadership wants to SEE where {metric} is heading. Project it from {file} and draw it.
        hey can u project {metric} out to the end of the year from {file} and graph it
        {name} is planning inventory for next month; show projected {metric} from {file} on a line chart.
        Extrapolate the {metric} trend in {file} for the next 6 months; a graph is enough.
        What will {metric} look like next month? Chart it from {file}.
        future {metric} from {file}, visual please
    """,
    ),
    (
        "forecast_db_report",
        ("query_database", "forecast_series", "export_report"),
        """
        Pull daily {metric} from the {table} table and forecast the next 30 days; I need it as a report.
        query {table}, forecast {metric}, export to pdf
        Please retrieve historical {metric} from the {table} database table and deliver a forecast report for next quarter.
        {table} forecast report {metric}
        Board meeting on {day}. I need the projected {metric} from the live {table} table in a document, not a chart.
        hey can u grab {metric} from the db ({table}) and send a projection for next month as a spreadsheet
        {name} from {team} needs the {metric} forecast based on the warehouse {table} data, exported for the budget file.
        From the {table} table, predict {metric} for the next 8 weeks and export the numbers.
        Projected {metric} for next quarter, straight from {table} in the database, as an Excel report.
        forecast {table} {metric}, write it up
    """,
    ),
    (
        "db_group_chart",
        ("query_database", "group_by", "plot_chart"),
        """
        Query the {table} table and chart {metric} by {dimension}.
        from db {table}: {metric} per {dimension}, bar chart
        Please retrieve {metric} from the {table} table in the warehouse and visualise it by {dimension}.
        {table} {metric} by {dimension} chart
        I don't want last week's CSV, I want the LIVE numbers from {table}: {metric} by {dimension}, charted.
        hey can u pull {metric} per {dimension} from postgres ({table}) and make a graph
        {name} needs a dashboard tile: {metric} by {dimension} straight from {table}.
        Run a query on {table}, total {metric} for each {dimension}, and plot the result.
        Which {dimension} leads on {metric} right now? Use the database table {table} and show a chart.
        graph {metric} split by {dimension}, source is the {table} db table
    """,
    ),
)

SLOTS: dict[str, str] = {
    "file": "sales_2023.csv|orders_q3.xlsx|web_traffic.parquet|transactions_march.csv|store_revenue.xlsx|subscriptions.csv|support_tickets_2024.csv|inventory_snapshot.csv|marketing_spend.xlsx|shipments_eu.csv|app_events.parquet|payroll_h1.csv",
    "file2": "customers.csv|products.xlsx|stores.csv|regions_lookup.csv|campaigns.csv|accounts_crm.xlsx|suppliers.csv|employees.csv",
    "metric": "revenue|order value|churn rate|units sold|conversion rate|delivery time|ticket volume|gross margin|session length|refund amount|active users|basket size",
    "dimension": "region|product category|sales channel|store|customer segment|country|campaign|warehouse|payment method|device type",
    "driver": "ad spend|discount rate|price|email frequency|page load time|number of sales reps|temperature|free shipping threshold|loyalty points|support response time",
    "table": "orders|transactions|payments|events|sessions|invoices|shipments|subscriptions|refunds|daily_sales",
    "name": "Maria|Tom|Aisha|Jonas|Priya|Liam|Chen|Sofia|Kwame|Emma|Diego|Hana",
    "team": "finance|marketing|ops|the sales team|product|the data science team|logistics|customer success",
    "day": "Monday|Tuesday|Wednesday|Thursday|Friday|the 15th|the 1st|the 28th|March 3|June 30",
}


def build() -> ScenarioSpec:
    return build_spec(
        ID,
        version="1",
        prefix=PREFIX,
        seed=SEED,
        tools=TOOLS,
        intents=INTENTS,
        slots=SLOTS,
        counted=("analysis requests", "analysis tools", "kinds of analysis"),
        name="Data Analysis",
        description=(
            "Train agents to analyze data, generate insights, and create visualizations. "
            "Master statistical analysis and reporting."
        ),
        difficulty="intermediate",
        duration="3-4 hours",
        rating=4.7,
        metrics=("Analysis Accuracy", "Data Quality", "Insight Quality"),
        # Warehouse timeouts, slow model fits and a flaky file store.
        failure_rates={"query_database": 0.2, "forecast_series": 0.15, "load_dataset": 0.1},
        # A file snapshot of the table stands in for the live query; a group-by gives the
        # same aggregates as a pivot, in long form.
        fallbacks={"query_database": "load_dataset", "pivot_table": "group_by"},
        descriptions=DESCRIPTIONS,
    )
