"""The speech-synthesis WebSocket of the emulator (section 3 of the protocol doc)."""

from __future__ import annotations

from starlette.websockets import WebSocket


async def inference_endpoint(websocket: WebSocket) -> None:
    """Serve one synthesis connection: run-task / continue-task / finish-task (stub for now)."""
    await websocket.close(code=1011)
