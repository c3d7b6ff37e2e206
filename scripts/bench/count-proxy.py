#!/usr/bin/env python3
"""A TCP relay that counts the bytes a client sends to a server.

    count-proxy.py LISTEN_PORT TARGET_PORT COUNT_FILE

Listens on 127.0.0.1:LISTEN_PORT, relays every connection to 127.0.0.1:TARGET_PORT, and on
SIGTERM writes to COUNT_FILE the bytes received from clients and the bytes sent back to them.
scripts/bench.sh uses it to measure what preflight sends to a libSQL server.
"""

import asyncio
import signal
import sys

sent = 0  # client → server
received = 0  # server → client


async def pipe(reader, writer, upstream):
    global sent, received
    try:
        while data := await reader.read(65536):
            if upstream:
                sent += len(data)
            else:
                received += len(data)
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    listen, target, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

    async def handle(client_r, client_w):
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(pipe(client_r, server_w, True), pipe(server_r, client_w, False))

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    with open(out, "w") as f:
        f.write(f"{sent} {received}\n")


asyncio.run(main())
