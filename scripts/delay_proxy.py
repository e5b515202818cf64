#!/usr/bin/env python3
"""PostgreSQL "on another host", for `kith bench http` (standard library only).

  delay_proxy.py [DELAY_S] [LISTEN_PORT] [TARGET_PORT]

Listens on 127.0.0.1:LISTEN_PORT (6543) and forwards to 127.0.0.1:TARGET_PORT (5432),
holding every chunk DELAY_S seconds (0.001) in each direction, in order. Point the bench's
`--database-url` at the listening port to see what round trips cost when the database is a
network hop away (this machine's kernel has no netem):

  scripts/delay_proxy.py 0.001 &
  kith bench http --scale small --clients 1 \\
      --database-url postgres://postgres@127.0.0.1:6543/bench   # an empty database
"""
import asyncio
import sys
import time

DELAY = float(sys.argv[1]) if len(sys.argv) > 1 else 0.001
LISTEN = int(sys.argv[2]) if len(sys.argv) > 2 else 6543
TARGET = int(sys.argv[3]) if len(sys.argv) > 3 else 5432


async def pipe(reader, writer):
    """Copies reader to writer, each chunk DELAY after it arrived."""
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            if data is None:
                writer.close()
                return
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    while True:
        data = await reader.read(65536)
        queue.put_nowait((time.monotonic() + DELAY, data or None))
        if not data:
            break
    await sender


async def handle(client_reader, client_writer):
    server_reader, server_writer = await asyncio.open_connection("127.0.0.1", TARGET)
    await asyncio.gather(
        pipe(client_reader, server_writer),
        pipe(server_reader, client_writer),
        return_exceptions=True,
    )


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
