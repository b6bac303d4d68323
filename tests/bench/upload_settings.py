"""The upload benchmark's server settings (tests/bench/bench_upload.py): the portal as
the environment configures it, with the URLs of tests/bench/upload_urls.py. Never part
of the product."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.upload_urls"
