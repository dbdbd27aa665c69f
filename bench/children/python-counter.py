#!/usr/bin/env python3
"""The benchmark's Python child: an amazon_kclpy v3 record processor that JSON-parses every record's data,
counts the records, checkpoints once per batch and at shard end or shutdown. Written exactly as an
amazon_kclpy user writes one, so it runs unchanged under any MultiLangDaemon with the real amazon_kclpy
(`executableName = python3 bench/children/python-counter.py`); the amazon_kclpy package next to it is a minimal
stand-in for when the real one is not installed (this directory comes first on sys.path, so it is the one used
when run from here).
"""
import json
import sys

from amazon_kclpy import kcl
from amazon_kclpy.v3 import processor


class RecordProcessor(processor.RecordProcessorBase):
    def __init__(self):
        self.shard_id = None
        self.counted = 0

    def checkpoint(self, checkpointer):
        try:
            checkpointer.checkpoint()
        except kcl.CheckpointError as e:
            sys.stderr.write("{0}: checkpoint failed after {1} records: {2}\n".format(self.shard_id, self.counted, e))

    def initialize(self, initialize_input):
        self.shard_id = initialize_input.shard_id

    def process_records(self, process_records_input):
        records = process_records_input.records
        for record in records:
            json.loads(record.binary_data)
        self.counted += len(records)
        if records:
            self.checkpoint(process_records_input.checkpointer)

    def lease_lost(self, lease_lost_input):
        pass

    def shard_ended(self, shard_ended_input):
        self.checkpoint(shard_ended_input.checkpointer)

    def shutdown_requested(self, shutdown_requested_input):
        self.checkpoint(shutdown_requested_input.checkpointer)


if __name__ == "__main__":
    kcl.KCLProcess(RecordProcessor()).run()
