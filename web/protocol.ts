// Messages between the demo page and its training worker.
export interface DemoConfig {
  width: number;
  depth: number;
  activation: 'none' | 'relu' | 'sigmoid' | 'tanh';
  lr: number;
  optimizer: 'sgd' | 'momentum' | 'adam';
}

export type ToDemoWorker =
  | { type: 'reset'; config: DemoConfig }
  | { type: 'run' }
  | { type: 'pause' }
  | { type: 'step' }
  | { type: 'sample'; index: number };

export interface TraceView {
  /** Per Linear layer: its input a, its pre-activation z and activation a, ∂L/∂z, ∂L/∂W [out, in]. */
  layers: { input: number[]; z: number[]; a: number[]; dLdz: number[]; dLdW: number[]; inF: number; outF: number }[];
  x: number;
  y: number;
  output: number;
  loss: number;
}

export interface DemoState {
  type: 'state';
  step: number;
  losses: number[];
  grid: number[];
  curve: number[];
  stepsPerSecond: number;
  trace: TraceView;
  data: { x: number[]; y: number[] };
}

export type FromDemoWorker = DemoState | { type: 'error'; message: string };
