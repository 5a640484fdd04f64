# Writes testdata/torch_small_params.json: every parameter of the PyTorch twin
# (torch_small.py's RadFMSmall) as [name, shape], in module order.
# train/gpu_twin_test.go checks the Go `small` preset's variables map onto
# them one to one. Runs on a CPU (no CUDA needed):
#   /usr/bin/python3 train/gpu/dump_params.py
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch
import torch_small

with torch.no_grad():
    m = torch_small.RadFMSmall()
out = [[n, list(p.shape)] for n, p in m.named_parameters()]
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "torch_small_params.json")
with open(path, "w") as f:
    f.write("[\n" + ",\n".join(json.dumps(x) for x in out) + "\n]\n")
print(f"{len(out)} parameters, {sum(p.numel() for p in m.parameters())} elements -> {path}  (torch {torch.__version__})")
