"""Every GraphQL document the project sends to Prefect Server, in one place.

Hasura's filters take its own `uuid` scalar; the server's `UUID` is only for its mutations.
The test suite validates each document in `DOCUMENTS` against the server's real schema.
"""

from __future__ import annotations

# --- Runs -----------------------------------------------------------------------------------

RUN = """
query CurrentRun($id: uuid!) {
  flow_run_by_pk(id: $id) { id name labels flow { name project { name } } }
}
"""
RUN_STATE = """
query RunState($id: uuid!) { flow_run_by_pk(id: $id) { id state state_message } }
"""
# Runs of any version of a flow (its flow group) in Running, other than the given one.
RUNNING_RUNS = """
query RunningRuns($flow_id: uuid!, $run_id: uuid!, $running: String!) {
  flow_run(
    where: {
      flow: {flow_group: {flows: {id: {_eq: $flow_id}}}}
      state: {_eq: $running}
      id: {_neq: $run_id}
    }
  ) { id }
}
"""
# The last finished runs of every version of the run's flow, newest first.
RECENT_RUNS = """
query RecentRuns($run_id: uuid!, $limit: Int!, $states: [String!]) {
  flow_run_by_pk(id: $run_id) {
    flow {
      flow_group {
        flows {
          flow_runs(
            where: {state: {_in: $states}}
            order_by: {end_time: desc_nulls_last}
            limit: $limit
          ) { id state }
        }
      }
    }
  }
}
"""
# A run on the server (CloudFlowRunner) returns no task states with the flow's state: the
# failed tasks' messages are read from its task runs.
FAILED_TASKS = """
query FailedTasks($run_id: uuid!, $states: [String!]) {
  task_run(
    where: {
      flow_run_id: {_eq: $run_id}
      state: {_in: $states}
    }
    order_by: {state_timestamp: asc}
  ) { map_index state_message task { name } }
}
"""
RUNS_IN_STATE_SINCE = """
query RunsInStateSince($states: [String!], $before: timestamptz!) {
  flow_run(
    where: {state: {_in: $states}, state_timestamp: {_lt: $before}}
    order_by: {state_timestamp: asc}
  ) { id name state state_timestamp flow { name } }
}
"""
RUNS_ENDED_BEFORE = """
query RunsEndedBefore($states: [String!], $before: timestamptz!) {
  flow_run(
    where: {state: {_in: $states}, end_time: {_lt: $before}}
    order_by: {end_time: asc}
  ) { id name end_time flow { name } }
}
"""
CANCEL_RUN = """
mutation CancelRun($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }
"""
DELETE_RUN = """
mutation DeleteRun($id: UUID!) { delete_flow_run(input: {flow_run_id: $id}) { success } }
"""

# --- Flows ----------------------------------------------------------------------------------

PROJECT_ID = """
query ProjectId($name: String!) { project(where: {name: {_eq: $name}}) { id } }
"""
LATEST_FLOW = """
query FlowInProject($name: String!, $project: String!) {
  flow(
    where: {name: {_eq: $name}, archived: {_eq: false}, project: {name: {_eq: $project}}}
    order_by: {version: desc}
    limit: 1
  ) { id }
}
"""
# The unarchived versions of many flows at once, newest first per name.
LATEST_VERSIONS = """
query LatestVersions($project: String!, $names: [String!]) {
  flow(
    where: {project: {name: {_eq: $project}}, name: {_in: $names}, archived: {_eq: false}}
    order_by: {version: desc}
  ) { id name version storage }
}
"""
# Every unarchived version in a project, newest first.
LIVE_VERSIONS = """
query LiveVersions($project: String!) {
  flow(
    where: {archived: {_eq: false}, project: {name: {_eq: $project}}}
    order_by: {version: desc}
  ) { id name version flow_group_id }
}
"""
# Unarchived versions whose name matches a comparison (exact, or a LIKE).
FLOWS_MATCHING = """
query FlowsMatching($project: String!, $name: String_comparison_exp!) {
  flow(
    where: {project: {name: {_eq: $project}}, name: $name, archived: {_eq: false}}
    order_by: [{name: asc}, {version: desc}]
  ) { id name version created }
}
"""
VERSIONS = """
query Versions($ids: [uuid!]) { flow(where: {id: {_in: $ids}}) { id version } }
"""
# The whole flow (tasks and edges inside) in one request: Client.register sends six (project,
# flow, tasks, edges, schedule, flow group), which made registering 500 flows slower than
# `prefect register`. The server stores the tasks and edges it finds in serialized_flow.
CREATE_FLOW = """
mutation CreateFlow($input: create_flow_from_compressed_string_input!) {
  create_flow_from_compressed_string(input: $input) { id }
}
"""
ARCHIVE_FLOW = """
mutation ArchiveFlow($flow_id: UUID!) { archive_flow(input: {flow_id: $flow_id}) { success } }
"""

# --- Health (the watchdog) -------------------------------------------------------------------

# The latest unarchived version of each named flow, its schedule's switch, and the last
# started runs of every version of it (a re-registration starts a version with no runs).
WATCHED_FLOWS = """
query WatchedFlows($project: String!, $names: [String!], $limit: Int!) {
  flow(
    where: {project: {name: {_eq: $project}}, name: {_in: $names}, archived: {_eq: false}}
    order_by: {version: desc}
  ) {
    id name is_schedule_active schedule
    flow_group {
      flows {
        flow_runs(
          where: {start_time: {_is_null: false}}
          order_by: {start_time: desc}
          limit: $limit
        ) { id state start_time end_time scheduled_start_time }
      }
    }
  }
}
"""
# Runs due before `before` that no agent has started (the server makes at most ten ahead
# per flow, so this stays small even with an agent down for days).
LATE_RUNS = """
query LateRuns($project: String!, $before: timestamptz!, $states: [String!]) {
  flow_run(
    where: {
      flow: {project: {name: {_eq: $project}}, archived: {_eq: false}}
      state: {_in: $states}
      scheduled_start_time: {_lt: $before}
    }
    order_by: {scheduled_start_time: asc}
  ) { id state scheduled_start_time flow { name } }
}
"""
PAUSE_SCHEDULE = """
mutation PauseSchedule($flow_id: UUID!) {
  set_schedule_inactive(input: {flow_id: $flow_id}) { success }
}
"""

DOCUMENTS: dict[str, str] = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str) and name != "DOCUMENTS"
}
