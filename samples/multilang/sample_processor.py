#!/usr/bin/env python3
"""The multi-language sample for Python users, written against the real amazon_kclpy v3 API
(`pip install amazon_kclpy`), equivalent to sample-processor.ts. Run it under `kcl multilang` with
`executableName = python3 samples/multilang/sample_processor.py` in sample.properties.

stdout is the protocol channel to the daemon: log to stderr only (the daemon relays it).
Environment: CHECKPOINT_INTERVAL_MS (default 60000), CHECKPOINT_RETRY_MS (default 5000).
"""
import os
import sys
import time

from amazon_kclpy import kcl
from amazon_kclpy.v3 import processor


class RecordProcessor(processor.RecordProcessorBase):
    def __init__(self):
        self._sleep_seconds = int(os.environ.get("CHECKPOINT_RETRY_MS", "5000")) / 1000.0
        self._checkpoint_retries = 5
        self._checkpoint_freq_seconds = int(os.environ.get("CHECKPOINT_INTERVAL_MS", "60000")) / 1000.0
        self._largest_seq = (None, None)
        self._last_checkpoint_time = None

    def log(self, message):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    def initialize(self, initialize_input):
        self._largest_seq = (None, None)
        self._last_checkpoint_time = time.time()
        self.log("Initialized {s} at {q}".format(s=initialize_input.shard_id, q=initialize_input.sequence_number))

    def checkpoint(self, checkpointer, sequence_number=None, sub_sequence_number=None):
        """Checkpoints with retries on retryable errors."""
        for n in range(0, self._checkpoint_retries):
            try:
                checkpointer.checkpoint(sequence_number, sub_sequence_number)
                return
            except kcl.CheckpointError as e:
                if e.value == "ShutdownException":
                    # Another worker has taken the lease for this shard: stop checkpointing.
                    self.log("Encountered shutdown exception, skipping checkpoint")
                    return
                elif e.value == "ThrottlingException":
                    if n == self._checkpoint_retries - 1:
                        self.log("Failed to checkpoint after {n} attempts, giving up.".format(n=n + 1))
                        return
                    self.log("Was throttled while checkpointing, will attempt again in {s} seconds"
                             .format(s=self._sleep_seconds))
                elif e.value == "InvalidStateException":
                    self.log("MultiLangDaemon reported an invalid state while checkpointing.")
                else:
                    self.log("Encountered an error while checkpointing, error was {e}.".format(e=e))
            time.sleep(self._sleep_seconds)

    def process_record(self, data, partition_key, sequence_number, sub_sequence_number):
        # Insert your processing logic here.
        self.log("Record (Partition Key: {pk}, Sequence Number: {seq}, Subsequence Number: {sseq}, Data Size: {ds})"
                 .format(pk=partition_key, seq=sequence_number, sseq=sub_sequence_number, ds=len(data)))

    def should_update_sequence(self, sequence_number, sub_sequence_number):
        return self._largest_seq == (None, None) or sequence_number > self._largest_seq[0] or \
            (sequence_number == self._largest_seq[0] and sub_sequence_number > self._largest_seq[1])

    def process_records(self, process_records_input):
        try:
            for record in process_records_input.records:
                data = record.binary_data
                seq = int(record.sequence_number)
                sub_seq = record.sub_sequence_number
                self.process_record(data, record.partition_key, seq, sub_seq)
                if self.should_update_sequence(seq, sub_seq):
                    self._largest_seq = (seq, sub_seq)
            # Checkpoints every CHECKPOINT_INTERVAL_MS.
            if self._largest_seq != (None, None) and \
                    time.time() - self._last_checkpoint_time >= self._checkpoint_freq_seconds:
                self.checkpoint(process_records_input.checkpointer, str(self._largest_seq[0]), self._largest_seq[1])
                self._last_checkpoint_time = time.time()
        except Exception as e:
            self.log("Encountered an exception while processing records. Exception was {e}".format(e=e))

    def lease_lost(self, lease_lost_input):
        self.log("Lease has been lost")

    def shard_ended(self, shard_ended_input):
        self.log("Shard has ended checkpointing")
        shard_ended_input.checkpointer.checkpoint()  # SHARD_END; the shard's children start only after this

    def shutdown_requested(self, shutdown_requested_input):
        self.log("Shutdown has been requested, checkpointing.")
        shutdown_requested_input.checkpointer.checkpoint()


if __name__ == "__main__":
    kcl.KCLProcess(RecordProcessor()).run()
