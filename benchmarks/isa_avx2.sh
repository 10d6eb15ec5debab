# Source before a benchmark or a run to restrict every library's code to AVX2 on a CPU that has
# AVX-512 (an AVX2-only proxy: same caches and memory, AVX2 instructions only):
#   source benchmarks/isa_avx2.sh && python -m pytest benchmarks/bench_theory_estimators.py ...
# numba compiles for Haswell (no AVX-512, its own cache folder so AVX-512 builds are not reused),
# numpy's dispatch skips AVX-512, torch dispatches AVX2 kernels, MKL and oneDNN stop at AVX2.
# ONNX Runtime has no such switch: its kernels still use AVX-512 (encoding is not restricted).
export NUMBA_CPU_NAME=haswell
export NUMBA_CPU_FEATURES="+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+f16c,+fma,+fxsr,+lzcnt,+mmx,+movbe,+pclmul,+popcnt,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,-avx512f,-avx512bw,-avx512dq,-avx512vl,-avx512cd,-avx512bf16,-avx512vnni,-avx512vbmi,-avx512ifma,-avx512bitalg,-avx512vpopcntdq,-avx512fp16,-avx512vbmi2,-evex512"
export NUMBA_CACHE_DIR="${TMPDIR:-/tmp}/locent-numba-avx2"
export NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"
export ATEN_CPU_CAPABILITY=avx2
export MKL_ENABLE_INSTRUCTIONS=AVX2
export ONEDNN_MAX_CPU_ISA=AVX2
