// For web/tools/speed.mjs: the explorer's data and model code training with nothing drawn or reported,
// as fast as net.trainStep goes in a Web Worker.
import { init } from 'backprop-wasm';
import { BatchSchedule, gather } from '../batches';
import { buildLoss, buildNetwork, buildOptimizer } from '../model';
import type { NetSpec, TrainSpec } from '../protocol';

interface Request {
  net: NetSpec;
  train: TrainSpec;
  data: { trainX: Float32Array; trainY: Float32Array | Int32Array };
  seconds: number;
}

self.onmessage = async (event: MessageEvent<Request>) => {
  await init();
  const { net: spec, train, data, seconds } = event.data;
  const net = buildNetwork(spec, train.seed),
    loss = buildLoss(spec),
    optimizer = buildOptimizer(net, train);
  const yWidth = spec.task === 'classification' ? 1 : spec.outFeatures,
    rows = data.trainY.length / yWidth;
  const schedule = new BatchSchedule(rows, train.batchSize, train.seed);
  const xBuffer = new Float32Array(train.batchSize * spec.inFeatures);
  const yBuffer = spec.task === 'classification' ? new Int32Array(train.batchSize) : new Float32Array(train.batchSize * yWidth);
  let steps = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    for (let i = 0; i < 64; i++) {
      const batch = schedule.peek();
      const [x, y] =
        batch === null
          ? [data.trainX, data.trainY]
          : gather(batch, data.trainX, data.trainY, spec.inFeatures, yWidth, xBuffer, yBuffer);
      net.trainStep(x, y, loss, optimizer);
      schedule.advance();
      steps++;
    }
  }
  postMessage(steps / ((performance.now() - started) / 1000));
};
