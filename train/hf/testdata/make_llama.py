#!/usr/bin/python3
"""Builds tiny LLaMA decoders in plain PyTorch, saves each as a Hugging Face
folder (config.json + model.safetensors) and records its logits for fixed
token ids and a greedy continuation (golden.json).

The math mirrors transformers' LlamaForCausalLM (modeling_llama.py):
RMSNorm in float32, rotate_half RoPE with rope_theta and the "llama3"
rope_scaling, grouped-query attention (repeat_kv), SwiGLU MLP, tied or
untied lm_head. torch 1.13 has no safetensors package, so the file is
written here by the format's definition: an 8-byte little-endian header
length, a JSON header {name: {dtype, shape, data_offsets}}, raw
little-endian data.

Run from this folder: /usr/bin/python3 make_llama.py
"""
import json, math, os, struct
import torch

MODELS = {
    # untied head, float32 storage, LLaMA-3 rope scaling whose thresholds
    # put the 4 frequencies in every branch (kept, smoothed, divided).
    "llama-tiny": dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
                       rope_theta=500000.0, tie_word_embeddings=False, torch_dtype="float32",
                       rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 256},
                       seed=1),
    # tied head, bfloat16 storage (reference computed in float32 from the
    # bf16-rounded weights), no rope scaling, 3 layers, GQA 6:2.
    "llama-tied-bf16": dict(vocab_size=80, hidden_size=48, intermediate_size=96, num_hidden_layers=3,
                            num_attention_heads=6, num_key_value_heads=2, rms_norm_eps=1e-6,
                            rope_theta=10000.0, tie_word_embeddings=True, torch_dtype="bfloat16",
                            rope_scaling=None, seed=2),
}
IDS = [1, 17, 42, 5, 63, 8, 29, 77, 3, 50, 11, 64]
PROMPT = [1, 9, 33, 20]
NEW = 24


def inv_freq(c):
    hd = c["hidden_size"] // c["num_attention_heads"]
    f = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    rs = c["rope_scaling"]
    if rs:
        factor, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        low_wl, high_wl = old / lo, old / hi
        wl = 2 * math.pi / f
        fl = torch.where(wl > low_wl, f / factor, f)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * fl / factor + smooth * fl
        medium = ~(wl < high_wl) * ~(wl > low_wl)
        f = torch.where(medium, smoothed, fl)
    return f


def rms(x, w, eps):
    v = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(v + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(c, W, ids):
    T = len(ids)
    H, KV = c["num_attention_heads"], c["num_key_value_heads"]
    hd = c["hidden_size"] // H
    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    pos = torch.arange(T).float()
    fr = torch.outer(pos, inv_freq(c))
    emb = torch.cat((fr, fr), dim=-1)
    cos, sin = emb.cos()[None], emb.sin()[None]  # [1, T, hd]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms(x, W[p + "input_layernorm.weight"], c["rms_norm_eps"])
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(T, H, hd).transpose(0, 1)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(T, KV, hd).transpose(0, 1)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(T, KV, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=0)
        v = v.repeat_interleave(H // KV, dim=0)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, dim=-1) @ v
        a = a.transpose(0, 1).reshape(T, H * hd)
        x = x + a @ W[p + "self_attn.o_proj.weight"].T
        h = rms(x, W[p + "post_attention_layernorm.weight"], c["rms_norm_eps"])
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rms(x, W["model.norm.weight"], c["rms_norm_eps"])
    head = W["model.embed_tokens.weight"] if c["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.T


def weights(c):
    g = torch.Generator().manual_seed(c["seed"])
    D, F, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    H, KV = c["num_attention_heads"], c["num_key_value_heads"]
    hd = D // H
    r = lambda *s: torch.randn(*s, generator=g) * 0.2
    W = {"model.embed_tokens.weight": r(V, D), "model.norm.weight": 1 + r(D)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        W[p + "self_attn.q_proj.weight"] = r(H * hd, D)
        W[p + "self_attn.k_proj.weight"] = r(KV * hd, D)
        W[p + "self_attn.v_proj.weight"] = r(KV * hd, D)
        W[p + "self_attn.o_proj.weight"] = r(D, H * hd)
        W[p + "mlp.gate_proj.weight"] = r(F, D)
        W[p + "mlp.up_proj.weight"] = r(F, D)
        W[p + "mlp.down_proj.weight"] = r(D, F)
        W[p + "input_layernorm.weight"] = 1 + r(D)
        W[p + "post_attention_layernorm.weight"] = 1 + r(D)
    if not c["tie_word_embeddings"]:
        W["lm_head.weight"] = r(V, D)
    if c["torch_dtype"] == "bfloat16":
        W = {k: v.to(torch.bfloat16) for k, v in W.items()}
    return W


def save_safetensors(path, W):
    names = sorted(W)
    header, blobs, off = {}, [], 0
    for n in names:
        t = W[n].contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
            dt = "BF16"
        else:
            raw = t.numpy().astype("<f4").tobytes()
            dt = "F32"
        header[n] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    torch.set_num_threads(1)
    golden = {}
    for name, spec in MODELS.items():
        c = dict(spec)
        seed = c.pop("seed")
        c["seed"] = seed
        W = weights(c)
        os.makedirs(name, exist_ok=True)
        save_safetensors(os.path.join(name, "model.safetensors"), W)
        cfg = {k: v for k, v in c.items() if k != "seed"}
        cfg.update(architectures=["LlamaForCausalLM"], model_type="llama", hidden_act="silu",
                   max_position_embeddings=2048, bos_token_id=1, eos_token_id=2,
                   attention_bias=False, mlp_bias=False, initializer_range=0.02, use_cache=True)
        if cfg["rope_scaling"] is None:
            del cfg["rope_scaling"]
        with open(os.path.join(name, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
        Wf = {k: v.float() for k, v in W.items()}
        with torch.no_grad():
            logits = forward(c, Wf, IDS)
            seq = list(PROMPT)
            for _ in range(NEW):
                seq.append(int(forward(c, Wf, seq)[-1].argmax()))
        golden[name] = {"ids": IDS, "logits": logits.flatten().tolist(), "prompt": PROMPT, "greedy": seq[len(PROMPT):]}
    with open("golden.json", "w") as f:
        json.dump(golden, f)


main()
