"""amazon_kclpy.v3.processor: the base class of a v3 record processor (the methods the daemon's actions call)."""
import abc


class RecordProcessorBase(abc.ABC):
    version = 3

    @abc.abstractmethod
    def initialize(self, initialize_input):
        raise NotImplementedError

    @abc.abstractmethod
    def process_records(self, process_records_input):
        raise NotImplementedError

    @abc.abstractmethod
    def lease_lost(self, lease_lost_input):
        raise NotImplementedError

    @abc.abstractmethod
    def shard_ended(self, shard_ended_input):
        raise NotImplementedError

    @abc.abstractmethod
    def shutdown_requested(self, shutdown_requested_input):
        raise NotImplementedError
