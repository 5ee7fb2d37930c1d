"""What the tests share: the apps they serve, the servers they start (Redis, Redis Cluster), the clients and the
browser that talk to them, and a clock moved by hand. Test files live one folder up; nothing here is collected."""
