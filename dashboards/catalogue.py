"""The four dashboards of the wall screen, as rows of panels (adding a panel is adding a row).

No panel reads more of the raw points (`telemetry`, kept 90 days) than its last hour, the live
current; state changes (`machine_state`), gateway statuses (`gateway_status`, one a minute per
gateway), rejected messages (`rejected`) and session conflicts (`session_conflict`) are few and
read raw. Everything else reads the
rollups, so a year costs what a day does: the latest minute (what a machine draws now, when a
gateway was last heard) and unattributed use per minute; hours in each state, energy, peak
current and samples per hour (those panels count the whole hours of their range). Durations
are sample counts times `$sample_s`, the gateways' telemetry interval (1 s by default).
"""

# InfluxQL made of constants and Grafana variables, which Grafana (not us) fills in.
# ruff: noqa: S608

from __future__ import annotations

from dashboards.panels import (
    Dashboard,
    FieldLink,
    Panel,
    PanelKind,
    Query,
    Variable,
    VariableKind,
)
from dashboards.rollups import (
    STATES_1H_SOURCE,
    TELEMETRY_1H_SOURCE,
    TELEMETRY_1M_SOURCE,
    UNATTRIBUTED_1M_SOURCE,
    UNATTRIBUTED_THRESHOLDS,
)
from services.influx.measurements import MAINTENANCE

# The api writes each machine's service state every minute: a panel reads the latest of this span.
MAINTENANCE_LOOK = "1h"
# The latest look's row whole, not each field's last value: a count it left out (no task counts
# days any more) shows empty rather than an older look's number.
LATEST_LOOK = "ORDER BY time DESC LIMIT 1"

WHERE = '"site" =~ /^$site$/ AND "machine" =~ /^$machine$/ AND $timeFilter'
BY_MACHINE = 'GROUP BY "machine"'
# Gateway statuses and rejected messages are per site, not per machine.
SITE_WHERE = '"site" =~ /^$site$/ AND $timeFilter'

SITE = Variable(
    name="site",
    label="Site",
    kind=VariableKind.QUERY,
    definition='SHOW TAG VALUES FROM "telemetry" WITH KEY = "site"',
    multi=True,
    include_all=True,
)
MACHINE = Variable(
    name="machine",
    label="Machine",
    kind=VariableKind.QUERY,
    definition='SHOW TAG VALUES FROM "telemetry" WITH KEY = "machine" WHERE "site" =~ /^$site$/',
    multi=True,
    include_all=True,
)
SAMPLE_S = Variable(
    name="sample_s",
    label="Seconds between samples",
    kind=VariableKind.CONSTANT,
    definition="1",
    description="The gateways' telemetry interval; durations are sample counts times this.",
)
UNATTRIBUTED_AMPS = Variable(
    name="unattributed_amps",
    label="Unattributed above (A)",
    kind=VariableKind.CUSTOM,
    # The thresholds the rollup counts samples over, one field each.
    definition=",".join(UNATTRIBUTED_THRESHOLDS),
    description="Current on a locked machine at or above this is use nobody badged in for.",
)
BUCKET = Variable(
    name="bucket",
    label="Per",
    kind=VariableKind.CUSTOM,
    definition="1d,7d,30d",
    description="Group hours and energy per day, week or month.",
)
OFFICINA_URL = Variable(
    name="officina_url",
    label="officina",
    kind=VariableKind.CONSTANT,
    definition="http://localhost:8000",
    description=(
        "Where the officina pages are: a member's pseudonym links there, for coordinators. "
        "Set it with `officina dashboards build --set officina_url=...`."
    ),
)
MACHINE_VARIABLES = (SITE, MACHINE, SAMPLE_S)
# Who used the machines: sessions under their members' pseudonyms (see SCHEMA.md).
TOP_USERS = 10
KWH_MEMBERS = 20
WHO_IS_IT = FieldLink(
    field="user",
    title="Who is this? (coordinators)",
    url="${officina_url}/members/by-pseudonym/${__value.raw}",
)
PSEUDONYMS = (
    "Members appear as pseudonyms (m- and ten hex digits), the same on every panel; a "
    "coordinator clicks one to open the member's month in officina, which refuses everyone else."
)


def _per_user(aggregate: str, name: str, top: int) -> Query:
    """The `top` members by a sum over the range's sessions, largest first."""
    return Query(
        influxql=(
            f'SELECT top("{name}", "user", {top}) AS "{name}" FROM ('
            f'SELECT {aggregate} AS "{name}" FROM "session" WHERE {WHERE} GROUP BY "user")'
        ),
        table=True,
    )


def _hours(state: str, *, per: str) -> Query:
    return Query(
        influxql=(
            f'SELECT sum("{state}") * $sample_s / 3600 AS "{state}" FROM {STATES_1H_SOURCE} '
            f'WHERE {WHERE} GROUP BY time({per}), "machine" fill(0)'
        ),
        alias=f"$tag_machine {state}",
    )


FLOOR_NOW = Dashboard(
    uid="officina-floor-now",
    title="Floor now",
    description=(
        "Each machine's state, live current, the open session, unattributed use, and which "
        "machines are out of order or due for service."
    ),
    variables=(*MACHINE_VARIABLES, UNATTRIBUTED_AMPS),
    time_from="now-6h",
    refresh="10s",
    panels=(
        Panel(
            title="State",
            kind=PanelKind.STATE_TIMELINE,
            width=24,
            queries=(
                Query(
                    influxql=f'SELECT "state" FROM "machine_state" WHERE {WHERE} {BY_MACHINE}',
                    alias="$tag_machine",
                ),
            ),
        ),
        Panel(
            title="Live current",
            kind=PanelKind.TIMESERIES,
            unit="amp",
            description="The last hour in 10-second means, whatever the dashboard's range.",
            relative_time="1h",
            min_interval="10s",
            queries=(
                Query(
                    influxql=(
                        f'SELECT mean("amps") FROM "telemetry" WHERE {WHERE} '
                        'GROUP BY time($__interval), "machine" fill(null)'
                    ),
                    alias="$tag_machine",
                ),
            ),
        ),
        Panel(
            title="On it now",
            kind=PanelKind.TABLE,
            description=(
                "Latest state and session per machine, and the mean current of its last minute; "
                "the live board names the member."
            ),
            reads_rollups=True,
            min_interval="1m",
            queries=(
                Query(
                    influxql=(
                        'SELECT last("state") AS "state", "session" FROM "machine_state" '
                        f"WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
                Query(
                    influxql=(
                        f'SELECT last("amps") AS "amps" FROM {TELEMETRY_1M_SOURCE} '
                        f"WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="Unattributed use",
            kind=PanelKind.BARCHART,
            unit="m",
            description="Minutes of current on a locked machine: nobody badged in.",
            reads_rollups=True,
            min_interval="1m",
            queries=(
                Query(
                    influxql=(
                        'SELECT sum("over_$unattributed_amps") * $sample_s / 60 AS "minutes" '
                        f"FROM {UNATTRIBUTED_1M_SOURCE} WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="Out of order",
            kind=PanelKind.TABLE,
            description=(
                "Machines stopped by an open fault or an overdue critical task (1), and why: "
                "members' cards are refused there until a coordinator signs it off. The api "
                f"writes it every minute; the latest of the last {MAINTENANCE_LOOK} shows."
            ),
            relative_time=MAINTENANCE_LOOK,
            queries=(
                Query(
                    influxql=(
                        'SELECT "out_of_order" AS "out of order", "reason" '
                        f'FROM "{MAINTENANCE}" WHERE {WHERE} {BY_MACHINE} {LATEST_LOOK}'
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="Service due",
            kind=PanelKind.TABLE,
            description=(
                "Service tasks due on each machine, and the running hours and days left before "
                "the next one comes due (0: due now; empty: no task counts that way)."
            ),
            relative_time=MAINTENANCE_LOOK,
            queries=(
                Query(
                    influxql=(
                        'SELECT "tasks_due" AS "tasks due", '
                        '"hours_to_service" AS "hours to service", '
                        '"days_to_service" AS "days to service" '
                        f'FROM "{MAINTENANCE}" WHERE {WHERE} {BY_MACHINE} {LATEST_LOOK}'
                    ),
                    table=True,
                ),
            ),
        ),
    ),
)

MACHINES = Dashboard(
    uid="officina-machines",
    title="Machines",
    description=(
        "Running, idle and unlocked hours per machine, utilisation, energy, and who used them."
    ),
    variables=(*MACHINE_VARIABLES, BUCKET, OFFICINA_URL),
    time_from="now-30d",
    refresh="5m",
    panels=(
        Panel(
            title="Hours per machine",
            kind=PanelKind.BARCHART,
            unit="h",
            width=24,
            reads_rollups=True,
            min_interval="1h",
            queries=tuple(
                _hours(state, per="$bucket") for state in ("running", "idle", "unlocked")
            ),
        ),
        Panel(
            title="Utilisation",
            kind=PanelKind.BARCHART,
            unit="percent",
            description="Running time as a share of the whole range.",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        'SELECT sum("running") * $sample_s * 100 / $__range_s AS "utilisation" '
                        f"FROM {STATES_1H_SOURCE} WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="Energy per machine",
            kind=PanelKind.TIMESERIES,
            unit="kwatth",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        f'SELECT sum("energy_wh") / 1000 AS "kWh" FROM {TELEMETRY_1H_SOURCE} '
                        f'WHERE {WHERE} GROUP BY time($bucket), "machine" fill(0)'
                    ),
                    alias="$tag_machine",
                ),
            ),
        ),
        Panel(
            title="Top users",
            kind=PanelKind.TABLE,
            unit="h",
            description=(
                f"The {TOP_USERS} members with the most running hours on the chosen machines, "
                "counting the sessions that began in the range (kept 90 days). " + PSEUDONYMS
            ),
            queries=(_per_user('sum("running_s") / 3600', "hours running", TOP_USERS),),
            links=(WHO_IS_IT,),
            hidden_columns=("Time",),
        ),
    ),
)

ENERGY = Dashboard(
    uid="officina-energy",
    title="Energy and costs",
    description=(
        "kWh per machine, site and member, peak current, the month projected at this rate, "
        "and this month's shared costs split so far."
    ),
    variables=(*MACHINE_VARIABLES, OFFICINA_URL),
    time_from="now-30d",
    refresh="5m",
    panels=(
        Panel(
            title="kWh per machine",
            kind=PanelKind.BARCHART,
            unit="kwatth",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        f'SELECT sum("energy_wh") / 1000 AS "kWh" FROM {TELEMETRY_1H_SOURCE} '
                        f"WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="kWh per day",
            kind=PanelKind.TIMESERIES,
            unit="kwatth",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        f'SELECT sum("energy_wh") / 1000 AS "kWh" FROM {TELEMETRY_1H_SOURCE} '
                        f'WHERE {WHERE} GROUP BY time(1d), "site" fill(0)'
                    ),
                    alias="$tag_site",
                ),
            ),
        ),
        Panel(
            title="Projected kWh for 30 days",
            kind=PanelKind.STAT,
            unit="kwatth",
            description="The range's energy scaled to 30 days: what the month's bill will meter.",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        f'SELECT sum("energy_wh") / 1000 * 2592000 / $__range_s AS "kWh" '
                        f"FROM {TELEMETRY_1H_SOURCE} WHERE {WHERE}"
                    ),
                ),
            ),
        ),
        Panel(
            title="Peak current",
            kind=PanelKind.BARCHART,
            unit="amp",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        f'SELECT max("amps_max") AS "peak" FROM {TELEMETRY_1H_SOURCE} '
                        f"WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="kWh per member",
            kind=PanelKind.BARCHART,
            unit="kwatth",
            description=(
                f"The {KWH_MEMBERS} members who drew the most energy on the chosen machines, "
                "metered per session, for the sessions that began in the range (kept 90 days). "
                + PSEUDONYMS
            ),
            queries=(_per_user('sum("energy_wh") / 1000', "kWh", KWH_MEMBERS),),
            links=(WHO_IS_IT,),
            hidden_columns=("Time",),
        ),
        Panel(
            title="Projected pool shares",
            kind=PanelKind.TABLE,
            width=24,
            description=(
                "This month's shared bills split by their keys over the usage so far: the pools "
                "entered for the month, or last month's as an estimate until they are (basis). "
                "Billing writes it every hour; the latest of the last 3 hours shows, whatever "
                "the range, for every site and machine. " + PSEUDONYMS
            ),
            relative_time="3h",
            queries=(
                Query(
                    influxql=(
                        'SELECT last("share_eur") AS "share (EUR)", '
                        'last("pool_eur") AS "pool (EUR)", last("quantity") AS "quantity", '
                        'last("key") AS "key", last("basis") AS "basis", '
                        'last("month") AS "month" '
                        'FROM "pool_projection" WHERE $timeFilter GROUP BY "pool", "user"'
                    ),
                    table=True,
                ),
            ),
            links=(WHO_IS_IT,),
            hidden_columns=("Time",),
        ),
    ),
)

GATEWAYS = Dashboard(
    uid="officina-gateways",
    title="Gateways",
    description=(
        "Each gateway online or offline and its spool, when each machine was last heard, "
        "samples per minute, samples lost on the way, messages ingest rejected and sessions "
        "delivered again with another body."
    ),
    variables=MACHINE_VARIABLES,
    time_from="now-24h",
    refresh="30s",
    panels=(
        Panel(
            title="Online",
            kind=PanelKind.TABLE,
            description=(
                "Each gateway's latest status in the range, when it came, and its spool then. "
                "An online gateway repeats it every minute; offline without a spool is its last "
                "will, when the broker lost it. Per site: the machine filter does not apply."
            ),
            queries=(
                Query(
                    influxql=(
                        'SELECT last("status") AS "status", "spool" FROM "gateway_status" '
                        f'WHERE {SITE_WHERE} GROUP BY "site", "gateway"'
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="Spool backlog",
            kind=PanelKind.TIMESERIES,
            description=(
                "Messages waiting in each gateway's spool for the broker, the most in each "
                "interval; a gap is a gateway that sent no status. Per site: the machine filter "
                "does not apply."
            ),
            min_interval="1m",
            queries=(
                Query(
                    influxql=(
                        'SELECT max("spool") AS "spool" FROM "gateway_status" '
                        f'WHERE {SITE_WHERE} GROUP BY time($__interval), "gateway" fill(null)'
                    ),
                    alias="$tag_gateway",
                ),
            ),
        ),
        Panel(
            title="Last heard",
            kind=PanelKind.TABLE,
            description="The minute of each machine's latest sample: a silent gateway shows here.",
            reads_rollups=True,
            min_interval="1m",
            queries=(
                Query(
                    influxql=(
                        f'SELECT last("seq_max") AS "seq" FROM {TELEMETRY_1M_SOURCE} '
                        f"WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="Samples per minute",
            kind=PanelKind.TIMESERIES,
            description="Averaged per hour at least; the current hour is still filling.",
            reads_rollups=True,
            min_interval="1h",
            max_data_points=200,
            queries=(
                Query(
                    influxql=(
                        f'SELECT sum("samples") * 60000 / $__interval_ms AS "per minute" '
                        f"FROM {TELEMETRY_1H_SOURCE} WHERE {WHERE} "
                        'GROUP BY time($__interval), "machine" fill(0)'
                    ),
                    alias="$tag_machine",
                ),
            ),
        ),
        Panel(
            title="Samples lost",
            kind=PanelKind.BARCHART,
            description="Gaps in each gateway's sample counter (a restart resets it).",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        'SELECT max("seq_max") - min("seq_min") - sum("samples") + 1 AS "lost" '
                        f"FROM {TELEMETRY_1H_SOURCE} WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="Rejected messages",
            kind=PanelKind.TABLE,
            description=(
                "Messages ingest refused (the dead letters), per site and topic kind, over the "
                "range. A topic without a valid site or kind counts as unknown, shown with every "
                "site selected. The machine filter does not apply."
            ),
            queries=(
                Query(
                    influxql=(
                        'SELECT sum("count") AS "rejected" FROM "rejected" '
                        f'WHERE {SITE_WHERE} GROUP BY "site", "kind"'
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="Session conflicts",
            kind=PanelKind.TABLE,
            description=(
                "Sessions a gateway delivered again with a body other than the one booked, per "
                "machine, over the range. The first booking stands; coordinators see both "
                "bodies under Review (`/api/v1/review/conflicts`). None is the normal count."
            ),
            queries=(
                Query(
                    influxql=(
                        'SELECT sum("count") AS "conflicts" FROM "session_conflict" '
                        f'WHERE {WHERE} GROUP BY "site", "machine"'
                    ),
                    table=True,
                ),
            ),
        ),
    ),
)

DASHBOARDS = (FLOOR_NOW, MACHINES, ENERGY, GATEWAYS)
