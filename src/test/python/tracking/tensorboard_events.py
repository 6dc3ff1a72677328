"""What TensorBoard's own readers see in a run folder of event files, as JSON on stdout.

Usage: tensorboard_events.py RUN_DIR

- "scalars": {tag: [[step, value], ...]} and "texts": {tag: [[step, cells], ...]} from EventAccumulator, the reader
  behind TensorBoard's scalar and text dashboards (every event kept, its restart purging applied);
- "hparams": the hparams plugin's session start info (HParamsPluginData, parsed by the plugin's own protobuf);
- "raw": [[file, tag, step], ...] for every summary value of every file as EventFileLoader reads it, no purging,
  so duplicates left on disk show; "versions": the file_version of each file; "starts": the steps of SessionLog
  START events. Framing checksums are verified by the readers (a bad CRC ends a file's events).
"""
import json
import os
import sys

from tensorboard.backend.event_processing import event_accumulator, event_file_loader
from tensorboard.compat.proto import event_pb2
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util
from google.protobuf import json_format


def main(run_dir):
    acc = event_accumulator.EventAccumulator(
        run_dir, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    scalars = {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]}
    texts = {}
    for t in tags["tensors"]:
        if acc.SummaryMetadata(t).plugin_data.plugin_name != "text":
            continue
        texts[t] = [[e.step, [c.decode("utf-8") for c in tensor_util.make_ndarray(e.tensor_proto).flatten()],
                     list(tensor_util.make_ndarray(e.tensor_proto).shape)] for e in acc.Tensors(t)]
    hparams = {}
    for tag, content in acc.PluginTagToContent("hparams").items():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        hparams[tag] = json_format.MessageToDict(data.session_start_info)
    raw, versions, starts = [], {}, []
    for name in sorted(os.listdir(run_dir)):
        if "tfevents" not in name:
            continue
        for event in event_file_loader.EventFileLoader(os.path.join(run_dir, name)).Load():
            if event.HasField("file_version"):
                versions[name] = event.file_version
            if event.HasField("session_log") and event.session_log.status == event_pb2.SessionLog.START:
                starts.append(event.step)
            for value in event.summary.value:
                raw.append([name, value.tag, event.step])
    print(json.dumps({"scalars": scalars, "texts": texts, "hparams": hparams, "raw": raw, "versions": versions,
                      "starts": starts}))


if __name__ == "__main__":
    main(sys.argv[1])
