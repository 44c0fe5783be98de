"""Writes torch_norms.safetensors (+ torch_norms.json with the expected values): a PyTorch 1.13
state dict in the safetensors format, for the test that loads PyTorch-written weights.

Run with Debian's python3-torch (the outputs are committed; CI never needs PyTorch):
    /usr/bin/python3 Framework.Tests/Golden/make_safetensors_fixture.py

The `safetensors` package is not installed here, so the file is written by hand exactly as
safetensors.torch.save_file lays it out: 8-byte little-endian header length, compact JSON header
(metadata first, tensors ordered by dtype size descending then name, offsets contiguous from 0),
padded with spaces to a multiple of 8, then the raw little-endian bytes.
"""
import json, os, struct, torch

torch.manual_seed(11)

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = torch.nn.BatchNorm2d(3)
        self.inorm = torch.nn.InstanceNorm2d(4, affine=True, track_running_stats=True)

net = Net()
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.randn_like(p))
net.train()
for _ in range(3):  # make the running statistics and num_batches_tracked non-trivial
    net.bn(torch.randn(5, 3, 4, 4) * 2 + 1)
    net.inorm(torch.randn(2, 4, 3, 3) * 3 - 1)
state = {k: v.contiguous() for k, v in net.state_dict().items()}
state["extra.f64"] = torch.arange(6, dtype=torch.float64).reshape(2, 3) / 7

CODES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}

def save_file(tensors, path, metadata):
    order = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, t in order:
        data = t.numpy().tobytes()  # numpy writes the host's (little-endian) byte order
        header[name] = {"dtype": CODES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

here = os.path.dirname(os.path.abspath(__file__))
save_file(state, os.path.join(here, "torch_norms.safetensors"), {"format": "pt", "written_by": "make_safetensors_fixture.py"})
with open(os.path.join(here, "torch_norms.json"), "w") as f:
    json.dump({k: {"shape": list(v.shape), "dtype": str(v.dtype), "values": v.flatten().tolist()} for k, v in state.items()}, f)
print("wrote", sorted(state))
