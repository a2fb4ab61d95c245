"""Run every benchmark and print its figures as JSON lines (``make bench``)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_dask
import bench_engine
import bench_engine_scale
import bench_engine_vs_release
import bench_local
import bench_network
import bench_resultserver
import bench_startup
import bench_viewer

if __name__ == "__main__":  # Dask's worker processes import this module again
    for bench in (bench_startup, bench_engine, bench_engine_vs_release, bench_engine_scale,
                  bench_local, bench_dask, bench_resultserver, bench_viewer, bench_network):
        print(json.dumps(bench.main()), flush=True)
    print(json.dumps(bench_dask.main(separate=True)), flush=True)  # a farm's own cluster
