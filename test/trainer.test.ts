// createTrainer: fit() in a worker_threads Worker with progress, trained weights back, errors reported.
import { describe, expect, it } from 'vitest';
import { BackpropError, CrossEntropyLoss, Linear, Network, Relu, SGD, createTrainer, init } from '../src/index';

await init();

function blobs(rows: number) {
  const x = new Float32Array(rows * 2),
    labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    labels[r] = r % 2;
    x[2 * r] = (r % 2 ? 1.5 : -1.5) + Math.sin(r) * 0.5;
    x[2 * r + 1] = Math.cos(r * 1.7);
  }
  return { x, labels };
}

describe('createTrainer', () => {
  it('trains in a worker thread exactly as fit() does here, with per-epoch progress', async () => {
    const { x, labels } = blobs(64);
    const build = () => new Network([new Linear(2, 8), new Relu(), new Linear(8, 2)], { seed: 4 });
    const local = build(),
      remote = build();
    const localHistory = await local.fit(x, labels, {
      loss: new CrossEntropyLoss(),
      optimizer: new SGD(local.parameters(), { lr: 0.1, momentum: 0.9 }),
      epochs: 5,
      batchSize: 16,
      seed: 2,
    });
    const trainer = createTrainer(remote);
    const epochs: number[] = [];
    const history = await trainer.fit(x, labels, {
      loss: { type: 'CrossEntropyLoss' },
      optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 },
      epochs: 5,
      batchSize: 16,
      seed: 2,
      onEpochEnd: (info) => epochs.push(info.epoch),
    });
    trainer.terminate();
    expect(epochs).toEqual([1, 2, 3, 4, 5]);
    expect(history.loss).toEqual(localHistory.loss);
    expect(remote.parameters().map((p) => Array.from(p.data))).toEqual(local.parameters().map((p) => Array.from(p.data)));
  });

  it('reports errors from the worker as BackpropError instead of hanging', async () => {
    const net = new Network([new Linear(2, 2)]);
    const trainer = createTrainer(net);
    const before = net.parameters().map((p) => Array.from(p.data));
    await expect(
      trainer.fit([[1, 2]], [7], { loss: { type: 'CrossEntropyLoss' }, optimizer: { type: 'SGD', lr: 0.1 } }),
    ).rejects.toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE' }));
    await expect(
      trainer.fit([[1, 2]], [1], { loss: { type: 'HingeLoss' } as never, optimizer: { type: 'SGD', lr: 0.1 } }),
    ).rejects.toThrow(/unknown loss type "HingeLoss"/);
    expect(net.parameters().map((p) => Array.from(p.data))).toEqual(before);
    const running = trainer.fit(new Float32Array(2 * 5000), new Int32Array(5000), {
      loss: { type: 'CrossEntropyLoss' },
      optimizer: { type: 'SGD', lr: 0.1 },
      epochs: 1000,
    });
    trainer.terminate();
    await expect(running).rejects.toThrow(BackpropError);
    await expect(trainer.fit([[1, 2]], [1], { loss: { type: 'MSELoss' }, optimizer: { type: 'SGD' } })).rejects.toThrow(
      /terminated/,
    );
  });

  it('stops after the current epoch when its signal aborts, keeping what it trained', async () => {
    const { x, labels } = blobs(512);
    const net = new Network([new Linear(2, 4), new Relu(), new Linear(4, 2)], { seed: 1 });
    const before = net.parameters().map((p) => Array.from(p.data));
    const trainer = createTrainer(net);
    const controller = new AbortController();
    const history = await trainer.fit(x, labels, {
      loss: { type: 'CrossEntropyLoss' },
      optimizer: { type: 'Adam', lr: 0.01 },
      epochs: 10_000,
      batchSize: 8,
      signal: controller.signal,
      onEpochEnd: ({ epoch }) => {
        if (epoch === 3) controller.abort();
      },
    });
    trainer.terminate();
    expect(history.stopReason).toBe('aborted');
    expect(history.epochs.length).toBeGreaterThanOrEqual(3);
    // the stop reaches the worker a message later, so a few more epochs may finish; far from all 10,000
    expect(history.epochs.length).toBeLessThan(2_000);
    expect(net.parameters().map((p) => Array.from(p.data))).not.toEqual(before);
  });
});
