"""``python -m ozon_async``: the ``ozon`` command line (needs ``ozon-async[cli]``)."""

from ozon_async.cli import main

if __name__ == "__main__":
    main(prog_name="python -m ozon_async")
