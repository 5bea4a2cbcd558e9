"""A stock gRPC client that knows nothing of Allot's code: it lists the
services by server reflection, reads one service's methods from the
descriptors reflection returns, and asks the standard health service.

Usage: python3 tests/stock_client.py HOST:PORT SERVICE...
"""

import sys

import grpc
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


def main() -> None:
    address, services = sys.argv[1], sys.argv[2:]
    channel = grpc.insecure_channel(address)
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)

    requests = [reflection_pb2.ServerReflectionRequest(list_services="")]
    requests += [
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=s) for s in services
    ]
    for response in reflection.ServerReflectionInfo(iter(requests), timeout=10):
        if response.HasField("list_services_response"):
            for s in response.list_services_response.service:
                print("service", s.name)
        elif response.HasField("file_descriptor_response"):
            for raw in response.file_descriptor_response.file_descriptor_proto:
                fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
                for svc in fd.service:
                    for method in svc.method:
                        print("method", f"{fd.package}.{svc.name}/{method.name}")
        elif response.HasField("error_response"):
            print("error", response.error_response.error_message)

    health = health_pb2_grpc.HealthStub(channel)
    for s in [""] + services:
        status = health.Check(health_pb2.HealthCheckRequest(service=s), timeout=10).status
        print("health", s or "(server)", health_pb2.HealthCheckResponse.ServingStatus.Name(status))


if __name__ == "__main__":
    main()
