# Peer baseline, copied from the project's shared design folder (baselines/hf_gspo_baseline.py) with
# three changes: HF_PARTS (comma-separated: rollout2b, learner2b, lora_rollout2b, learner9b, compiled;
# default all) selects the sections to run, so one device session can afford the parts a bench needs;
# the compiled rollout warms up with the timed run's 256 new tokens (a 16-token warm-up sizes the
# static cache differently, so the timed run recompiled and measured the compiler, ~330 tok/s);
# and the learner parts run without the rollout part (on the prompts with random completions).
# Peer baseline: HF transformers + peft doing a GSPO-style step (rollout with model.generate, then a
# LoRA learner pass with the GSPO sequence-ratio clipped loss) on randomly initialised Gemma-2 shapes.
# Run on a GPU host with torch, transformers and peft installed:
#   BUDGET_S=480 HF_BASELINE_OUT=/some/dir python3 hf_gspo_baseline.py
# Writes hf_results.json there (tokens/s, peak memory per configuration) and prints a log.
import os, sys, time, json, gc, math, traceback
import torch
import transformers, peft
from transformers import Gemma2Config, Gemma2ForCausalLM
from peft import LoraConfig, get_peft_model

T0 = time.time()
BUDGET = float(os.environ.get('BUDGET_S', '480'))
OUT = os.environ.get('HF_BASELINE_OUT', '.')
RES = {'transformers': transformers.__version__, 'peft': peft.__version__, 'torch': torch.__version__}
def log(*a): print(f'[{time.time()-T0:6.1f}s]', *a, flush=True)
def save(): json.dump(RES, open(os.path.join(OUT, 'hf_results.json'), 'w'), indent=1)
def left(): return BUDGET - (time.time() - T0)
PARTS = set(os.environ.get('HF_PARTS', 'rollout2b,learner2b,lora_rollout2b,learner9b,compiled').split(','))

SHAPES = {
 '2b': dict(hidden_size=2304, intermediate_size=9216, num_hidden_layers=26, num_attention_heads=8, num_key_value_heads=4),
 '9b': dict(hidden_size=3584, intermediate_size=14336, num_hidden_layers=42, num_attention_heads=16, num_key_value_heads=8),
}
B, NP, NS, P, N, MB = 64, 8, 8, 128, 256, 8

def make_model(shape, attn):
    cfg = Gemma2Config(vocab_size=256000, head_dim=256, sliding_window=4096, attn_logit_softcapping=50.0,
                       final_logit_softcapping=30.0, query_pre_attn_scalar=256, max_position_embeddings=8192,
                       hidden_activation='gelu_pytorch_tanh', tie_word_embeddings=True, pad_token_id=0, eos_token_id=1,
                       bos_token_id=2, attn_implementation=attn, **SHAPES[shape])
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device('cuda'):
            m = Gemma2ForCausalLM(cfg)
    finally:
        torch.set_default_dtype(torch.float32)
    m = m.to(torch.bfloat16).eval()
    n = sum(p.numel() for p in m.parameters())
    log(f'{shape}: {n/1e9:.3f} B params, attn={m.config._attn_implementation}, dtype={next(m.parameters()).dtype}')
    return m

def set_attn(m, attn):
    try:
        m.set_attn_implementation(attn); how = 'set_attn_implementation'
    except Exception as e:
        m.config._attn_implementation = attn; how = f'config assign ({type(e).__name__}: {e})'
    base = m.get_base_model() if hasattr(m, 'get_base_model') else m
    log(f'set attn {attn} via {how}; now {base.config._attn_implementation}')
    return base.config._attn_implementation

def gen_kwargs(n):
    return dict(do_sample=True, temperature=0.7, top_p=0.9, top_k=0, max_new_tokens=n, min_new_tokens=n,
                pad_token_id=0, return_dict_in_generate=True)

def prompts():
    g = torch.Generator(device='cuda').manual_seed(0)
    p = torch.randint(3, 256000, (NP, P), device='cuda', generator=g)
    return p.repeat_interleave(NS, dim=0)  # 8 prompts x 8 samples = 64 rows

def rollout(m, tag, extra=None, warm_n=16):
    ids = prompts(); am = torch.ones_like(ids)
    kw = gen_kwargs(N); kw.update(extra or {'disable_compile': True})
    wk = gen_kwargs(warm_n); wk.update(extra or {'disable_compile': True})
    with torch.no_grad():
        torch.cuda.synchronize(); t = time.time()
        o = m.generate(input_ids=ids, attention_mask=am, **wk); torch.cuda.synchronize()
        tw = time.time() - t
        torch.cuda.reset_peak_memory_stats(); t = time.time()
        o = m.generate(input_ids=ids, attention_mask=am, **kw); torch.cuda.synchronize()
        dt = time.time() - t
    seqs = o.sequences
    assert seqs.shape == (B, P + N), seqs.shape
    r = dict(time_s=dt, gen_tok_s=B * N / dt, ms_per_step=dt / N * 1e3, warmup16_s=tw,
             peak_GiB=torch.cuda.max_memory_allocated() / 2**30, cache=type(o.past_key_values).__name__)
    log(f'ROLLOUT {tag}: {r}')
    RES['rollout_' + tag] = r; save()
    return seqs

def learner_pass(m, opt, seqs):
    opt.zero_grad(set_to_none=True)
    nmb = B // MB
    for i in range(0, B, MB):
        x = seqs[i:i + MB]
        try:
            out = m(input_ids=x, logits_to_keep=N + 1, use_cache=False)
            logits = out.logits[:, :-1]
        except TypeError:
            out = m(input_ids=x, use_cache=False); logits = out.logits[:, P - 1:-1]
        lp = torch.log_softmax(logits.float(), -1).gather(-1, x[:, P:].unsqueeze(-1)).squeeze(-1)  # [MB, N]
        # GSPO: sequence-level ratio of length-normalised likelihoods, clipped
        ratio = torch.exp((lp - lp.detach()).mean(-1))
        adv = torch.randn(MB, device=x.device)
        loss = -torch.minimum(ratio * adv, ratio.clamp(1 - 3e-4, 1 + 4e-4) * adv).mean() / nmb
        loss.backward()
    opt.step()

def learner(m, seqs, tag, gckpt):
    base = m.get_base_model()
    if gckpt:
        m.gradient_checkpointing_enable(gradient_checkpointing_kwargs={'use_reentrant': False})
    else:
        m.gradient_checkpointing_disable() if hasattr(m, 'gradient_checkpointing_disable') else base.gradient_checkpointing_disable()
    m.train()
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-5)
    torch.cuda.synchronize(); t = time.time()
    learner_pass(m, opt, seqs); torch.cuda.synchronize(); tw = time.time() - t
    torch.cuda.reset_peak_memory_stats(); t = time.time()
    learner_pass(m, opt, seqs); torch.cuda.synchronize(); dt = time.time() - t
    r = dict(time_s=dt, tok_s=B * (P + N) / dt, warm_s=tw, peak_GiB=torch.cuda.max_memory_allocated() / 2**30,
             gc=gckpt, is_gc=getattr(base, 'is_gradient_checkpointing', None))
    m.eval(); del opt
    log(f'LEARNER {tag}: {r}')
    RES['learner_' + tag] = r; save()
    return r

def run_2b():
    m = make_model('2b', 'eager')
    attns = ['eager', 'sdpa']
    seqs = None
    for a in attns:
        if left() < 60 or 'rollout2b' not in PARTS: break
        try:
            if set_attn(m, a) != a: RES[f'note_{a}'] = 'not applied'
            seqs = rollout(m, f'2b_{a}_base')
        except Exception as e:
            traceback.print_exc(); RES[f'rollout_2b_{a}_error'] = repr(e)
    if seqs is None:  # the learner without the rollout part: the prompts with random completions
        g = torch.Generator(device='cuda').manual_seed(1)
        seqs = torch.cat([prompts(), torch.randint(3, 256000, (B, N), device='cuda', generator=g)], 1)
    lcfg = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj'], task_type='CAUSAL_LM')
    pm = get_peft_model(m, lcfg)
    tr = sum(p.numel() for p in pm.parameters() if p.requires_grad); log(f'LoRA trainable params {tr/1e6:.2f} M')
    RES['lora_2b_trainable_M'] = tr / 1e6
    for a in attns:
        for gck in (False, True):
            if left() < 60 or 'learner2b' not in PARTS: break
            try:
                set_attn(pm, a)
                learner(pm, seqs, f'2b_{a}_{"gc" if gck else "nogc"}', gck)
            except Exception as e:
                traceback.print_exc(); RES[f'learner_2b_{a}_{gck}_error'] = repr(e)
    # rollout through the (unmerged) peft model = what a live policy costs in HF
    for a in attns:
        if left() < 60 or 'lora_rollout2b' not in PARTS: break
        try:
            set_attn(pm, a); pm.gradient_checkpointing_disable() if hasattr(pm, 'gradient_checkpointing_disable') else None
            rollout(pm, f'2b_{a}_lora_unmerged')
        except Exception as e:
            traceback.print_exc(); RES[f'rollout_2b_lora_{a}_error'] = repr(e)
    del pm, m; gc.collect(); torch.cuda.empty_cache()
    return seqs

def run_9b(seqs):
    if left() < 120 or 'learner9b' not in PARTS: log('skip 9b'); return
    m = make_model('9b', 'eager')
    lcfg = LoraConfig(r=64, lora_alpha=128, lora_dropout=0.0, task_type='CAUSAL_LM',
                      target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'])
    pm = get_peft_model(m, lcfg)
    tr = sum(p.numel() for p in pm.parameters() if p.requires_grad); log(f'9b LoRA trainable params {tr/1e6:.2f} M')
    RES['lora_9b_trainable_M'] = tr / 1e6
    for a, gck in (('eager', False), ('eager', True), ('sdpa', False), ('sdpa', True)):
        if left() < 45: break
        try:
            set_attn(pm, a)
            learner(pm, seqs, f'9b_{a}_{"gc" if gck else "nogc"}', gck)
        except Exception as e:
            traceback.print_exc(); RES[f'learner_9b_{a}_{gck}_error'] = repr(e)
            gc.collect(); torch.cuda.empty_cache()
    del pm, m; gc.collect(); torch.cuda.empty_cache()

def run_compiled_rollout():
    if left() < 150 or 'compiled' not in PARTS: log('skip compiled rollout'); return
    m = make_model('2b', 'sdpa')
    try:
        rollout(m, '2b_sdpa_static_autocompile', extra={'cache_implementation': 'static', 'disable_compile': False},
                warm_n=N)
    except Exception as e:
        traceback.print_exc(); RES['rollout_compiled_error'] = repr(e)

if __name__ == '__main__':
    log('versions', RES)
    seqs = run_2b()
    if seqs is None:
        seqs = torch.randint(3, 256000, (B, P + N), device='cuda')
    run_9b(seqs)
    run_compiled_rollout()
    save(); log('DONE'); print(json.dumps(RES, indent=1))
