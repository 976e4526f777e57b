#!/usr/bin/python3
"""Real PyTorch as the test oracle of backprop-wasm.

A long-lived process driven by test/torch/oracle.ts: one JSON request per line on stdin, one JSON reply
per line on stdout, in order. Needs only the standard library and torch (Debian's python3-torch under
/usr/bin/python3). Everything is float32 on one thread; every request starts from torch.manual_seed(seed)
(default 0), so a request's reply does not depend on the requests before it. A failing request gets
{"id": ..., "error": "<ExceptionType>: <message>", "traceback": "..."}; the process carries on. If torch
cannot be imported the process writes one {"fatal": "..."} line and exits with status 3.

Values
------
Tensor   {"shape": [2, 3], "data": [1.5, -2, ...], "dtype": "float32"}   data flat, row-major; dtype is
         optional in requests (default float32; "int64" for class indices, also "float64", "int32",
         "bool"). Non-finite numbers are the strings "NaN", "Infinity", "-Infinity" both ways.
Spec     {"type": "LeakyReLU", "args": [...], "kwargs": {"negativeSlope": 0.2}}, or just "ReLU". The class
         is getattr(torch.nn | torch.optim | torch.optim.lr_scheduler, type). Keys other than type/args/
         kwargs are taken as kwargs too, so a backprop-wasm JSON spec ({"type": "Linear", "inFeatures": 3,
         "outFeatures": 2, "bias": true}, {"type": "SGD", "lr": 0.1}) can be sent as it is. camelCase keys
         become snake_case (negativeSlope -> negative_slope, TMax -> T_max; see snake_case). A
         {"shape", "data"} value becomes a tensor; a list becomes a tensor for weight / pos_weight and a
         tuple for betas / etas / step_sizes. Optimizer specs may carry clipGradNorm (ours, not torch's):
         torch.nn.utils.clip_grad_norm_(params, clipGradNorm) runs before every optimizer step.
State    {"0.weight": Tensor, ...}: a state_dict by name (parameters and buffers).
File     a safetensors file as base64 (8-byte little-endian header length, JSON header, raw
         little-endian data), read and written here by hand.

Requests (every request may carry "id", echoed in its reply; "seed", default 0; and "precision":
"float64" to run the same request in float64 (float32 tensors and modules become float64, replies hold
float64 values): torch's float32 result against its float64 one shows how much float32 rounding a case
amplifies.)
--------
{"op": "info"}
  -> {"torch": "1.13.0", "python": "3.11.2", "threads": 1, "dtype": "torch.float32"}

{"op": "run", "layers": [Spec], "state": State?, "strict": true, "mode": "train"|"eval",
 "x": Tensor, "loss": Spec?, "target": Tensor?, "grad_output": Tensor?}
  Builds nn.Sequential(*layers) (torch's init from seed), loads state (load_state_dict(strict)), sets the
  mode, runs out = net(x) with x.requires_grad, then loss(out, target).backward() (or
  out.backward(grad_output), or no backward).
  -> {"output": Tensor, "loss": number | Tensor (reduction 'none'; its sum is back-propagated) | null,
      "grads": {name: Tensor} (every parameter by state_dict name, zeros where torch has none),
      "dx": Tensor | null (dL/dx), "state": State (after the forward: running statistics, ...)}

{"op": "train", "layers", "state", "strict", "mode" as in run, "loss": Spec, "optimizer": Spec,
 "scheduler": Spec?, "x": Tensor, "target": Tensor  |  "batches": [{"x": Tensor, "target": Tensor}],
 "steps": n (default: the number of batches; the batches are used in turn, cycling)}
  Each step: lr read, optimizer.zero_grad(), loss(net(x), target).backward(), clip (clipGradNorm),
  optimizer.step(), then scheduler.step() (ReduceLROnPlateau: scheduler.step(that step's loss)).
  -> {"losses": [number] (each step's loss, before its update), "lrs": [number] (the lr each step used),
      "lr": number (in force after the last step), "state": State (final),
      "optimizer_state": {param name: {state name: Tensor | number}} (torch's names: momentum_buffer,
      exp_avg, exp_avg_sq, max_exp_avg_sq, square_avg, grad_avg, sum, step, ...),
      "grad_norms": [number] | null (with clipGradNorm: each step's total norm before clipping)}

{"op": "schedule", "scheduler": Spec, "lr": 0.1 | "optimizer": Spec, "steps": n, "metrics": [number]?}
  The scheduler on an optimizer (default SGD(lr)) over one dummy parameter; metrics feed
  ReduceLROnPlateau.step(metric), one per step.
  -> {"lrs": [n + 1 numbers] (param_groups[0]["lr"] after construction, then after each step),
      "momentums": [n + 1 numbers] | null (param_groups[0]["momentum"], or betas[0], when present)}

{"op": "load_state_dict", "layers": [Spec], "file": base64, "x": Tensor?, "modes": ["eval"],
 "strict": true, "ignore_prefixes": ["optimizer."]?}
  Parses the file, drops tensors whose names start with an ignored prefix, load_state_dict(strict).
  -> {"outputs": {mode: Tensor} | null, "load_error": text | null, "metadata": {...} | null,
      "dtypes": {name: "F32", ...}}

{"op": "save_state_dict", "layers": [Spec], "state": State?, "x": Tensor?, "modes": ["eval"],
 "dtype": "F32"|"F64"|"F16"|"BF16", "metadata": {str: str}?}
  nn.Sequential with torch's init (from seed) or the given state, its float tensors rounded to dtype (the
  module keeps the rounded values, so its outputs are those of the file), written as safetensors.
  -> {"file": base64, "state": State (float32 values of the file), "outputs": {mode: Tensor}}

{"op": "read_safetensors", "file": base64}
  -> {"tensors": {name: Tensor (F16 and BF16 given as float32)}, "dtypes": {name: dtype}, "metadata": {...} | null}
"""
import base64
import json
import math
import re
import struct
import sys
import traceback

_REPLIES = sys.stdout
sys.stdout = sys.stderr  # nothing but replies may reach the real stdout

try:
    import torch
    import torch.nn as nn
    import torch.optim as optim
    import torch.optim.lr_scheduler as lr_scheduler
except Exception as error:  # torch missing or broken: say so once, clearly
    _REPLIES.write(json.dumps({"fatal": f"cannot import torch under {sys.executable}: {type(error).__name__}: {error}"}) + "\n")
    _REPLIES.flush()
    sys.exit(3)

torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)

# ---------------------------------------------------------------- values

DTYPES = {
    "float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16,
    "int64": torch.int64, "int32": torch.int32, "int16": torch.int16, "int8": torch.int8, "uint8": torch.uint8,
    "bool": torch.bool,
}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def number_in(value):
    return NON_FINITE[value] if isinstance(value, str) else value


def number_out(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def is_tensor_json(value):
    return isinstance(value, dict) and "data" in value and "shape" in value


def tensor_in(value, dtype=None):
    if not is_tensor_json(value):
        raise ValueError(f"expected a tensor {{shape, data}}, got {json.dumps(value)[:200]}")
    dt = DTYPES[dtype or value.get("dtype", "float32")]
    if dt == torch.float32:
        dt = torch.get_default_dtype()  # float64 in a request with "precision": "float64"
    data = [number_in(v) for v in value["data"]]
    shape = [int(d) for d in value["shape"]]
    if math.prod(shape) != len(data):
        raise ValueError(f"a tensor of shape {shape} needs {math.prod(shape)} values, got {len(data)}")
    return torch.tensor(data, dtype=dt).reshape(shape)


def tensor_out(t):
    t = t.detach().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    flat = t.reshape(-1).tolist()
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        flat = [number_out(v) for v in flat]
    return {"shape": list(t.shape), "dtype": DTYPE_NAMES[t.dtype], "data": flat}


def state_out(state):
    return {name: tensor_out(t) for name, t in state.items()}


# ---------------------------------------------------------------- specs: construction by name

# camelCase keys whose snake_case is not the generic one
NAME_EXCEPTIONS = {"TMax": "T_max", "T0": "T_0", "TMult": "T_mult"}
TENSOR_KWARGS = {"weight", "pos_weight"}
TUPLE_KWARGS = {"betas", "etas", "step_sizes"}


def snake_case(name):
    """negativeSlope -> negative_slope, initialAccumulatorValue -> initial_accumulator_value; names that
    are already snake_case (or have no capitals) stay as they are."""
    if name in NAME_EXCEPTIONS:
        return NAME_EXCEPTIONS[name]
    if "_" in name or name.islower():
        return name
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def value_in(key, value):
    if is_tensor_json(value):
        return tensor_in(value)
    if isinstance(value, list) and key in TENSOR_KWARGS:
        return torch.tensor([number_in(v) for v in value], dtype=torch.get_default_dtype())
    if isinstance(value, list) and key in TUPLE_KWARGS:
        return tuple(number_in(v) for v in value)
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    return value


def spec_parts(spec):
    """(type, args, kwargs) of a spec, kwargs snake_case and converted."""
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ValueError(f"expected a spec {{type, args?, kwargs?}}, got {json.dumps(spec)[:200]}")
    raw = dict(spec.get("kwargs") or {})
    raw.update({k: v for k, v in spec.items() if k not in ("type", "args", "kwargs")})
    kwargs = {}
    for key, value in raw.items():
        name = snake_case(key)
        kwargs[name] = value_in(name, value)
    args = [value_in("", a) for a in spec.get("args") or []]
    return spec["type"], args, kwargs


def construct(namespace, label, spec, *leading):
    kind, args, kwargs = spec_parts(spec)
    cls = getattr(namespace, kind, None) if not kind.startswith("_") else None
    if not isinstance(cls, type):
        raise ValueError(f"{label} has no class {kind!r}")
    return cls(*leading, *args, **kwargs)


def build_network(req):
    layers = req.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ValueError("expected layers: a non-empty list of torch.nn specs")
    net = nn.Sequential(*[construct(nn, "torch.nn", spec) for spec in layers])
    if req.get("state") is not None:
        state = {name: tensor_in(t) for name, t in req["state"].items()}
        net.load_state_dict(state, strict=req.get("strict", True))
    set_mode(net, req.get("mode", "train"))
    return net


def set_mode(net, mode):
    if mode not in ("train", "eval"):
        raise ValueError(f"expected mode 'train' or 'eval', got {mode!r}")
    net.train(mode == "train")


def build_optimizer(spec, params):
    kind, args, kwargs = spec_parts(spec)
    clip = kwargs.pop("clip_grad_norm", None)
    cls = getattr(optim, kind, None)
    if not isinstance(cls, type):
        raise ValueError(f"torch.optim has no class {kind!r}")
    return cls(params, *args, **kwargs), clip


def build_scheduler(spec, optimizer):
    scheduler = construct(lr_scheduler, "torch.optim.lr_scheduler", spec, optimizer)
    return scheduler, isinstance(scheduler, lr_scheduler.ReduceLROnPlateau)


def group_momentum(group):
    if "momentum" in group:
        return group["momentum"]
    if "betas" in group:
        return group["betas"][0]
    return None


# ---------------------------------------------------------------- safetensors by hand

# dtype -> (torch dtype, integer dtype of the same width, struct code): data moves bit for bit
SAFETENSORS = {
    "F64": (torch.float64, torch.int64, "q"), "F32": (torch.float32, torch.int32, "i"),
    "F16": (torch.float16, torch.int16, "h"), "BF16": (torch.bfloat16, torch.int16, "h"),
    "I64": (torch.int64, torch.int64, "q"), "I32": (torch.int32, torch.int32, "i"),
    "I16": (torch.int16, torch.int16, "h"), "I8": (torch.int8, torch.int8, "b"),
    "U8": (torch.uint8, torch.uint8, "B"), "BOOL": (torch.bool, torch.uint8, "B"),
}
SAFETENSORS_NAMES = {v[0]: k for k, v in SAFETENSORS.items()}


def read_safetensors(data):
    """(tensors by name, their dtypes, __metadata__ or None), every field checked."""
    if len(data) < 8:
        raise ValueError(f"a safetensors file has at least 8 bytes, got {len(data)}")
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > len(data) - 8:
        raise ValueError(f"the header claims {header_length} bytes, the file has {len(data) - 8} after the length")
    header = json.loads(data[8:8 + header_length].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise ValueError("__metadata__ must map strings to strings")
    body = data[8 + header_length:]
    tensors, dtypes, spans = {}, {}, []
    for name, entry in header.items():
        dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in SAFETENSORS:
            raise ValueError(f"tensor {name!r} has dtype {dtype!r}, not one of {sorted(SAFETENSORS)}")
        torch_dtype, int_dtype, code = SAFETENSORS[dtype]
        count = math.prod(shape)
        width = struct.calcsize("<" + code)
        if not (0 <= begin <= end <= len(body)) or end - begin != count * width:
            raise ValueError(f"tensor {name!r} spans bytes [{begin}, {end}) of {len(body)}, not {count} {dtype} values")
        ints = torch.tensor(struct.unpack(f"<{count}{code}", body[begin:end]), dtype=int_dtype)
        tensors[name] = (ints.to(torch.bool) if dtype == "BOOL" else ints.view(torch_dtype)).reshape(shape)
        dtypes[name] = dtype
        spans.append((begin, end, name))
    covered = 0
    for begin, end, name in sorted(spans):
        if begin != covered:
            raise ValueError(f"tensor {name!r} starts at byte {begin}, expected {covered} (tensors must tile the data)")
        covered = end
    if covered != len(body):
        raise ValueError(f"the tensors cover {covered} bytes of data, the file has {len(body)}")
    return tensors, dtypes, metadata


def write_safetensors(tensors, metadata=None):
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        dtype = SAFETENSORS_NAMES[t.dtype]
        _, int_dtype, code = SAFETENSORS[dtype]
        flat = t.detach().contiguous().reshape(-1)
        ints = flat.to(torch.uint8) if dtype == "BOOL" else flat.view(int_dtype)
        chunk = struct.pack(f"<{flat.numel()}{code}", *ints.tolist())
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(chunk)]}
        chunks.append(chunk)
        offset += len(chunk)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def outputs_by_mode(net, req):
    if req.get("x") is None:
        return None
    x = tensor_in(req["x"])
    outputs = {}
    with torch.no_grad():
        for mode in req.get("modes", ["eval"]):
            set_mode(net, mode)
            outputs[mode] = tensor_out(net(x))
    return outputs


# ---------------------------------------------------------------- operations

def op_info(req):
    return {"torch": torch.__version__, "python": sys.version.split()[0], "threads": torch.get_num_threads(),
            "dtype": str(torch.get_default_dtype())}


def loss_value(value):
    return number_out(value.item()) if value.dim() == 0 else tensor_out(value)


def op_run(req):
    net = build_network(req)
    x = tensor_in(req["x"]).requires_grad_(True)
    out = net(x)
    reply = {"output": tensor_out(out), "loss": None}
    if req.get("loss") is not None:
        loss = construct(nn, "torch.nn", req["loss"])(out, tensor_in(req["target"]))
        reply["loss"] = loss_value(loss)
        loss.sum().backward()
    elif req.get("grad_output") is not None:
        out.backward(tensor_in(req["grad_output"]))
    reply["grads"] = {name: tensor_out(p.grad if p.grad is not None else torch.zeros_like(p))
                      for name, p in net.named_parameters()}
    reply["dx"] = tensor_out(x.grad) if x.grad is not None else None
    reply["state"] = state_out(net.state_dict())
    return reply


def op_train(req):
    net = build_network(req)
    optimizer, clip = build_optimizer(req["optimizer"], net.parameters())
    scheduler, plateau = build_scheduler(req["scheduler"], optimizer) if req.get("scheduler") else (None, False)
    loss_fn = construct(nn, "torch.nn", req["loss"])
    raw = req.get("batches") or [{"x": req["x"], "target": req["target"]}]
    batches = [(tensor_in(b["x"]), tensor_in(b["target"])) for b in raw]
    steps = int(req.get("steps", len(batches)))
    losses, lrs, norms = [], [], []
    for step in range(steps):
        x, target = batches[step % len(batches)]
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.zero_grad()
        loss = loss_fn(net(x), target)
        loss.backward()
        if clip is not None:
            norms.append(nn.utils.clip_grad_norm_(net.parameters(), clip).item())
        optimizer.step()
        losses.append(loss.item())
        if scheduler is not None:
            scheduler.step(loss.item()) if plateau else scheduler.step()
    names = {id(p): name for name, p in net.named_parameters()}
    optimizer_state = {}
    for param, state in optimizer.state.items():
        optimizer_state[names[id(param)]] = {
            key: (number_out(value.item()) if value.dim() == 0 else tensor_out(value)) if torch.is_tensor(value)
            else number_out(value) for key, value in state.items() if value is not None}  # SGD keeps momentum_buffer None
    return {"losses": [number_out(v) for v in losses], "lrs": [number_out(v) for v in lrs],
            "lr": number_out(optimizer.param_groups[0]["lr"]), "state": state_out(net.state_dict()),
            "optimizer_state": optimizer_state, "grad_norms": [number_out(v) for v in norms] if clip is not None else None}


def op_schedule(req):
    param = torch.zeros(1, requires_grad=True)
    spec = req.get("optimizer") or {"type": "SGD", "kwargs": {"lr": req.get("lr", 0.1)}}
    optimizer, _ = build_optimizer(spec, [param])
    scheduler, plateau = build_scheduler(req["scheduler"], optimizer)
    metrics = req.get("metrics")
    steps = int(req["steps"])
    if plateau and (metrics is None or len(metrics) < steps):
        raise ValueError(f"ReduceLROnPlateau needs a metric per step: {steps} steps, got {metrics and len(metrics)}")
    group = optimizer.param_groups[0]
    lrs, momentums = [group["lr"]], [group_momentum(group)]
    for step in range(steps):
        optimizer.step()  # no gradient: changes nothing, keeps torch's step-order check quiet
        scheduler.step(number_in(metrics[step])) if plateau else scheduler.step()
        lrs.append(group["lr"])
        momentums.append(group_momentum(group))
    return {"lrs": [number_out(v) for v in lrs],
            "momentums": None if momentums[0] is None else [number_out(v) for v in momentums]}


def op_load_state_dict(req):
    tensors, dtypes, metadata = read_safetensors(base64.b64decode(req["file"]))
    ignored = tuple(req.get("ignore_prefixes") or ())
    state = {name: t for name, t in tensors.items() if not (ignored and name.startswith(ignored))}
    net = build_network({**req, "state": None})
    reply = {"outputs": None, "load_error": None, "metadata": metadata, "dtypes": dtypes}
    try:
        net.load_state_dict(state, strict=req.get("strict", True))
    except RuntimeError as error:
        reply["load_error"] = str(error)
        return reply
    reply["outputs"] = outputs_by_mode(net, req)
    return reply


def op_save_state_dict(req):
    net = build_network(req)
    torch_dtype = SAFETENSORS[req.get("dtype", "F32")][0]
    file_tensors = {}
    with torch.no_grad():
        for name, t in net.state_dict().items():  # views of the live tensors: rounded in place
            if t.is_floating_point():
                t.copy_(t.to(torch_dtype))
                file_tensors[name] = t.to(torch_dtype)
            else:
                file_tensors[name] = t.clone()
    data = write_safetensors(file_tensors, req.get("metadata"))
    return {"file": base64.b64encode(data).decode("ascii"), "state": state_out(net.state_dict()),
            "outputs": outputs_by_mode(net, req)}


def op_read_safetensors(req):
    tensors, dtypes, metadata = read_safetensors(base64.b64decode(req["file"]))
    return {"tensors": state_out(tensors), "dtypes": dtypes, "metadata": metadata}


OPS = {"info": op_info, "run": op_run, "train": op_train, "schedule": op_schedule,
       "load_state_dict": op_load_state_dict, "save_state_dict": op_save_state_dict,
       "read_safetensors": op_read_safetensors}


def answer(line):
    request_id = None
    try:
        req = json.loads(line)
        if not isinstance(req, dict):
            raise ValueError("a request is a JSON object")
        request_id = req.get("id")
        op = OPS.get(req.get("op"))
        if op is None:
            raise ValueError(f"unknown op {req.get('op')!r}; known: {', '.join(OPS)}")
        torch.manual_seed(int(req.get("seed", 0)))
        precision = req.get("precision", "float32")
        if precision not in ("float32", "float64"):
            raise ValueError(f"expected precision 'float32' or 'float64', got {precision!r}")
        torch.set_default_dtype(DTYPES[precision])
        try:
            reply = op(req)
        finally:
            torch.set_default_dtype(torch.float32)
        reply["id"] = request_id
        return json.dumps(reply, allow_nan=False, separators=(",", ":"))
    except Exception as error:  # every failure is a reply, never the end of the process
        return json.dumps({"id": request_id, "error": f"{type(error).__name__}: {error}",
                           "traceback": traceback.format_exc(limit=8)})


def main():
    for line in sys.stdin:
        if line.strip():
            _REPLIES.write(answer(line) + "\n")
            _REPLIES.flush()


if __name__ == "__main__":
    main()
