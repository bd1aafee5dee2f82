"""Observes a CoAP resource with the aiocoap library and prints every notification's payload on a line of its own.

aiocoap-client 0.4.14's --observe shows the registration's response but not the notifications that follow (its
command line still uses the deprecated callback interface); the library's own `async for ... in observation`
delivers them. Used by ReliableTransportFlowTests for coap+tcp:// and coap+ws:// (argv[1] is the URI).
"""
import asyncio
import sys

from aiocoap import GET, Context, Message


async def main(uri: str) -> None:
    context = await Context.create_client_context()
    request = context.request(Message(code=GET, uri=uri, observe=0))
    first = await request.response
    print(f"registered {first.code} {first.payload.decode('utf-8', 'replace')}", flush=True)
    async for notification in request.observation:
        print(f"notification {notification.code} {notification.payload.decode('utf-8', 'replace')}", flush=True)


asyncio.run(main(sys.argv[1]))
