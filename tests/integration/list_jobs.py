"""Lists the coordinator's jobs with grpcio: the Python client of the integration tests.

usage: PYTHONPATH=<protoc --python_out dir> python3 list_jobs.py HOST:PORT TOKEN_FILE
Prints one line per job: id, name, state.
"""
import sys

import grpc

from gspo.v1 import coordinator_pb2


def main():
    address, token_file = sys.argv[1], sys.argv[2]
    with open(token_file) as f:
        token = f.read().strip()
    with grpc.insecure_channel(address) as channel:
        list_jobs = channel.unary_unary(
            "/gspo.v1.JobService/ListJobs",
            request_serializer=coordinator_pb2.ListJobsRequest.SerializeToString,
            response_deserializer=coordinator_pb2.ListJobsResponse.FromString)
        reply = list_jobs(coordinator_pb2.ListJobsRequest(), timeout=30,
                          metadata=[("authorization", "Bearer " + token)])
    for job in reply.jobs:
        print(job.id, job.name, coordinator_pb2.JobState.Name(job.state))


if __name__ == "__main__":
    main()
