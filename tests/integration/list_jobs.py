"""The Python client of the integration tests, on grpcio alone: lists the coordinator's jobs,
then checks that gRPC health checking and server reflection answer.

usage: PYTHONPATH=<protoc --python_out dir> python3 list_jobs.py HOST:PORT TOKEN_FILE
Prints one line per job (id, name, state), then "health: SERVING" and the gspo services that
reflection lists.
"""
import sys

import grpc

from gspo.v1 import coordinator_pb2


def identity(data):
    return data


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

        # grpc.health.v1.Health/Check with an empty HealthCheckRequest; the reply
        # HealthCheckResponse{status: SERVING} is field 1 = 1 on the wire.
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=identity, response_deserializer=identity)
        health = check(b"", timeout=30)
        print("health:", "SERVING" if health == b"\x08\x01" else repr(health))

        # ServerReflectionRequest{list_services: ""} is field 7 (a string) on the wire.
        reflect = channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=identity, response_deserializer=identity)
        answer = b"".join(reflect(iter([b"\x3a\x00"]), timeout=30))
        names = [n for n in ("gspo.v1.JobService", "gspo.v1.WorkerService") if n.encode() in answer]
        print("reflection:", " ".join(names))


if __name__ == "__main__":
    main()
