"""What an MLflow tracking server holds for one run, read with MLflow's own Python client, as JSON on stdout.

Usage: mlflow_run.py TRACKING_URI EXPERIMENT_NAME RUN_NAME

"run": status, name and id; "params": {key: value}; "metrics": {key: [[step, value], ...]} from the full metric
history (every logged value, in step order); "artifacts": every artifact path, recursively; "samples": the rows of
the samples.json table as MLflow's load_table reads them ([] when absent).
"""
import json
import sys

import mlflow
from mlflow import MlflowClient


def artifact_paths(client, run_id, path=None):
    paths = []
    for info in client.list_artifacts(run_id, path):
        if info.is_dir:
            paths.extend(artifact_paths(client, run_id, info.path))
        else:
            paths.append(info.path)
    return paths


def main(uri, experiment_name, run_name):
    mlflow.set_tracking_uri(uri)  # load_table searches through the global client
    client = MlflowClient(uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(experiment_name)
    runs = client.search_runs([experiment.experiment_id], filter_string=f"attributes.run_name = '{run_name}'")
    if len(runs) != 1:
        raise SystemExit(f"expected one run named {run_name}, found {len(runs)}")
    run = runs[0]
    metrics = {}
    for key in run.data.metrics:
        history = client.get_metric_history(run.info.run_id, key)
        metrics[key] = [[m.step, m.value] for m in sorted(history, key=lambda m: (m.step, m.timestamp))]
    artifacts = sorted(artifact_paths(client, run.info.run_id))
    samples = []
    if "samples.json" in artifacts:
        table = client.load_table(experiment.experiment_id, "samples.json", run_ids=[run.info.run_id])
        samples = json.loads(table.to_json(orient="records"))
    print(json.dumps({
        "run": {"status": run.info.status, "name": run.info.run_name, "id": run.info.run_id},
        "params": dict(run.data.params),
        "tags": dict(run.data.tags),
        "metrics": metrics,
        "artifacts": artifacts,
        "samples": samples,
    }))


if __name__ == "__main__":
    main(*sys.argv[1:4])
