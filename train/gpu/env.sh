# Source this file (`. train/gpu/env.sh`) on the GPU machine before running a
# medmd binary built with the XLA backend (train/gpu/prepare.sh builds one).
#
# GoMLX's XLA backend loads a PJRT plugin with dlopen. Given only a plugin
# name it would look in its default folders and, finding no CUDA plugin
# there, download JAX's from PyPI at start-up; a GPU machine without network
# access fails there. This script finds a CUDA plugin already on the machine
# and names it by absolute path, which GoMLX loads as is:
#
#   MEDMD_PJRT_PLUGIN=/path/xla_cuda_plugin.so   use that file;
#   otherwise                                    the plugin JAX's CUDA wheel
#     installs (jax_plugins/xla_cuda*/xla_cuda_plugin.so) in the
#     site-packages of ${PYTHON:-python3}.
#
# It exports GOMLX_BACKEND=xla:<plugin>, turns GoMLX's auto-install off, and
# tells XLA where CUDA's libdevice is when /usr/local/cuda exists. It returns
# non-zero, changing nothing, when no plugin is found.

_medmd_gpu_env() {
  local plugin=${MEDMD_PJRT_PLUGIN:-} sp
  if [ -z "$plugin" ]; then
    for sp in $("${PYTHON:-python3}" -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null); do
      plugin=$(find "$sp/jax_plugins" -maxdepth 2 -name 'xla_cuda_plugin.so' 2>/dev/null | sort | head -n 1)
      [ -n "$plugin" ] && break
    done
  fi
  if [ -z "$plugin" ] || [ ! -f "$plugin" ]; then
    echo "train/gpu/env.sh: no CUDA PJRT plugin found (install jax[cuda12] for ${PYTHON:-python3}, or set MEDMD_PJRT_PLUGIN to an xla_cuda_plugin.so)" >&2
    return 1
  fi
  case $plugin in
    /*) ;;
    *) plugin=$(cd "$(dirname "$plugin")" && pwd)/$(basename "$plugin") ;;
  esac
  export GOMLX_BACKEND="xla:$plugin"
  export GOMLX_NO_AUTO_INSTALL=1
  if [ -d /usr/local/cuda ]; then
    export XLA_FLAGS="--xla_gpu_cuda_data_dir=/usr/local/cuda${XLA_FLAGS:+ $XLA_FLAGS}"
  fi
  echo "GOMLX_BACKEND=$GOMLX_BACKEND"
}
_medmd_gpu_env
_medmd_gpu_status=$?
unset -f _medmd_gpu_env
return $_medmd_gpu_status 2>/dev/null || exit $_medmd_gpu_status
