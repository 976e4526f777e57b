"""PyTorch (CPU) as a bench peer: a long-lived worker that bench/peers/torch.mjs starts once per thread count.

Protocol: one JSON request per line on stdin, one JSON answer per line on stdout.
  {"cmd": "info"}      -> {"torch": "1.13.1", "threads": 1, "blas": "..."}
  {"cmd": "measure", ...} -> {"rate": units per second, "runs": n, "seconds": s}
A measure request names the network (sizes, hidden/output activation), the loss ('ce' or 'mse'), SGD's lr, the
batch size, the data (raw little-endian float32 / int32 files written by the JS side, so both train on the
same numbers) and how to time it: 'epoch' runs one shuffled (or not) pass over the rows per run, 'step' one
optimizer step per run on the next batch. One warm-up run, then runs until both minRuns and minSeconds are
reached, timed here with time.perf_counter, so process start-up and the pipe are never in the figure.
"""
import json
import sys
import time

import numpy as np
import torch
from torch import nn


def blas_info():
    """Which BLAS this process loaded (torch's Linear layers run on it): reference BLAS is ~20x slower."""
    libs = set()
    try:
        with open('/proc/self/maps') as maps:
            for line in maps:
                path = line.split()[-1]
                if 'blas' in path or 'mkl' in path:
                    libs.add(path)
    except OSError:
        pass
    openblas = next((p for p in libs if 'openblas' in p), None)
    if openblas:
        try:
            import ctypes
            lib = ctypes.CDLL(openblas)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            return 'OpenBLAS (%s, %s)' % (lib.openblas_get_config().decode().split(' ')[1], lib.openblas_get_corename().decode())
        except (OSError, AttributeError, IndexError):
            return 'OpenBLAS'
    if any('mkl' in p for p in libs):
        return 'MKL'
    if libs:
        return 'reference BLAS (' + ', '.join(sorted(libs)) + ')'
    return 'unknown BLAS'


def build(sizes, hidden, output):
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        kind = output if k == len(sizes) - 2 else hidden
        if kind == 'relu':
            layers.append(nn.ReLU())
        elif kind == 'sigmoid':
            layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


_data = {}


def load(path, dtype, shape):
    key = (path, dtype)
    if key not in _data:
        _data[key] = torch.from_numpy(np.fromfile(path, dtype=dtype).reshape(shape))
    return _data[key]


def measure(req):
    torch.manual_seed(req.get('seed', 1))
    sizes, rows, batch = req['sizes'], req['rows'], req['batch']
    net = build(sizes, req['hidden'], req['output'])
    optimizer = torch.optim.SGD(net.parameters(), lr=req['lr'])
    x = load(req['x'], np.float32, (rows, sizes[0]))
    if req['loss'] == 'ce':
        loss_fn = nn.CrossEntropyLoss()
        y = load(req['y'], np.int32, (rows,)).long()
    else:
        loss_fn = nn.MSELoss()
        y = load(req['y'], np.float32, (rows, sizes[-1]))

    def step(xb, yb):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yb)
        loss.backward()
        optimizer.step()

    if req['mode'] == 'epoch':
        generator = torch.Generator().manual_seed(req.get('seed', 1))
        shuffle = req.get('shuffle', True)

        def run():
            if shuffle:
                perm = torch.randperm(rows, generator=generator)
                xs, ys = x[perm], y[perm]
            else:
                xs, ys = x, y
            for start in range(0, rows, batch):
                step(xs[start:start + batch], ys[start:start + batch])
        per_run = rows
    else:
        batches = [(x[s:s + batch], y[s:s + batch]) for s in range(0, rows, batch)]
        cursor = [0]

        def run():
            xb, yb = batches[cursor[0] % len(batches)]
            cursor[0] += 1
            step(xb, yb)
        per_run = req.get('unitsPerRun', 1)

    for _ in range(req.get('warmupRuns', 1)):
        run()
    min_runs, min_seconds = req.get('minRuns', 1), req.get('minSeconds', 0)
    started = time.perf_counter()
    runs = 0
    while runs < min_runs or time.perf_counter() - started < min_seconds:
        run()
        runs += 1
    seconds = time.perf_counter() - started
    return {'rate': per_run * runs / seconds, 'runs': runs, 'seconds': seconds}


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.set_num_threads(threads)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req['cmd'] == 'info':
                answer = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas_info()}
            elif req['cmd'] == 'measure':
                answer = measure(req)
            else:
                answer = {'error': 'unknown command %r' % req['cmd']}
        except Exception as error:  # report to the bench rather than die mid-run
            answer = {'error': '%s: %s' % (type(error).__name__, error)}
        sys.stdout.write(json.dumps(answer) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
