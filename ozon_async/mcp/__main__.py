"""``python -m ozon_async.mcp``: serve the Ozon Seller API to an AI assistant over MCP."""

import sys

from ozon_async.mcp import main

if __name__ == "__main__":
    sys.exit(main())
