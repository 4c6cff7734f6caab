"""Rules: CUDA and framework wheel builds (MLD701-MLD703, MLD706, MLD713, MLD715).

The image model gives each stage's CUDA (``StageModel.cuda``), the framework pip installs with
the wheel build they get (``StageModel.frameworks()``) and the GPU-intent signals
(``StageModel.gpu_signals()``). The helpers below add what these rules need on top: which torch
install actually ends up in the image, whether a torch install is the PyPI (CUDA on Linux)
build, file-wide GPU intent, and text edits on index URLs and local labels.
"""

from __future__ import annotations

import re
from typing import Iterator

from ..fixer import Edit, Fix, Saving
from ..knowledge import image_facts
from ..knowledge import ml as kb
from ..parser.shell import pip_args
from .base import Violation, rule

TORCH_FAMILY = ("torch", "torchvision", "torchaudio", "torchcodec")
COMPANIONS = ("torchvision", "torchaudio", "torchcodec")
INDEX_BASE = "https://download.pytorch.org/whl/"

# Rough size of the CUDA libraries a Linux torch wheel brings (ml.yaml sizes_mb:
# nvidia_cu12_deps_installed 2800 MB; image deltas of 2.7-8 GB).
CUDA_WEIGHT = "about 2-5 GB"

# Packages whose GPU builds load the *system* CUDA libraries (not their own wheels): a reason to
# keep an nvidia/cuda -runtime base. Sources: onnxruntime CUDA EP docs (CUDA/cuDNN from the
# system unless the [cuda,cudnn] extras are used), CTranslate2 install docs (cuBLAS/cuDNN from
# the system), TensorFlow pip docs (plain `tensorflow` uses system CUDA), PaddlePaddle, MXNet,
# CuPy, PyCUDA and faiss-gpu docs, llama-cpp-python build docs (cuBLAS build).
_SYSTEM_CUDA_USERS = frozenset({
    "onnxruntime-gpu", "ctranslate2", "faster-whisper", "whisperx", "tensorflow", "tensorflow-gpu",
    "paddlepaddle-gpu", "cupy", "pycuda", "faiss-gpu", "llama-cpp-python", "tensorrt",
    "tensorrt-cu12", "numba", "cudf", "cuml", "jaxlib", "mmcv-full", "mmcv", "dgl",
    "torch-geometric", "torch-scatter", "torch-sparse", "spconv", "kaolin", "nvidia-dali",
})
_SYSTEM_CUDA_PREFIXES = ("cupy-cuda", "mxnet", "spconv-cu", "nvidia-dali", "dgl-cu",
                         "paddlepaddle", "tritonclient")
_APT_CUDA_RE = re.compile(r"cuda|cudnn|nccl|nvinfer|tensorrt|cublas|cufft|curand|cusparse|"
                          r"cusolver|libnpp|nvjpeg", re.I)
# Image names that say GPU (third-party CUDA images, ROCm images, GPU-named tags).
_GPU_IMAGE_RE = re.compile(r"cuda|cudnn|nvidia|gpu|rocm|tensorrt|nvcr\.io|triton", re.I)
_GPU_WORD_RE = re.compile(r"cuda|nvidia|\bgpus?\b|cudnn|nvcc|\bnccl\b", re.I)
_GENERAL_FAMILIES = frozenset({"python", "debian", "ubuntu", "conda"})


# ------------------------------------------------------------------------------ helpers
def _own_steps(sm) -> set[int]:
    """ids of the stage's own steps (installs found through ``frameworks()`` cover the whole
    lineage; a finding belongs to the stage whose RUN has it)."""
    return {id(s) for s in sm.steps}


def _opt(pip, *names: str) -> bool:
    """Whether the pip command has one of the options ``names`` (``-f`` matches ``-f=x``)."""
    return any(o == n or o.startswith(n + "=") for o in pip.options for n in names)


def _force_reinstall(pip) -> bool:
    return _opt(pip, "--force-reinstall", "--ignore-installed", "-I")


def _base_torch(sm) -> str | None:
    """The torch version the base image already has (pytorch/pytorch, NGC), or None."""
    cuda = sm.cuda
    if cuda is not None and cuda.framework and cuda.framework[0] == "torch":
        return cuda.framework[1]
    return None


def _noop_reinstall(fw, installed: str | None) -> bool:
    """pip leaves an installed torch in place for a requirement it already satisfies: an
    unpinned name (without ``-U``) or an exact pin of the installed public version without a
    local label."""
    if installed is None or _force_reinstall(fw.pip):
        return False
    if kb.local_label(fw.version):
        return False
    if fw.version is None:
        return not fw.ref.specifier and not fw.pip.upgrade
    return kb.public_version(fw.version) == kb.public_version(installed)


def _effective_torch(sm):
    """The torch install that determines the torch in this stage's image (oldest first, later
    installs replace earlier ones unless pip sees the requirement as already satisfied), or
    None when torch comes from the base image or is not installed."""
    current = None
    installed = _base_torch(sm)
    for fw in sm.frameworks():
        if fw.package != "torch":
            continue
        if _noop_reinstall(fw, installed):
            continue
        current = fw
        installed = fw.version or "?"
    return current


def _pypi_torch(fw, step_env: dict) -> bool:
    """The install takes torch from PyPI (its Linux wheel is a CUDA build): no local label, no
    index, extra index or find-links, no uv torch backend."""
    pip = fw.pip
    if fw.package != "torch" or kb.local_label(fw.version) or fw.ref.url:
        return False
    if pip.index_url or pip.extra_index_urls:
        return False
    if _opt(pip, "-f", "--find-links", "--no-index", "--torch-backend", "--platform"):
        return False
    if any(k in step_env or k in fw.pip.command.assignments
           for k in ("UV_TORCH_BACKEND", "PIP_FIND_LINKS", "UV_FIND_LINKS", "PIP_NO_INDEX")):
        return False
    return True


def _cuda_extra(ref) -> str | None:
    """``tensorflow[and-cuda]`` -> ``and-cuda``; ``jax[cuda12]`` -> ``cuda12`` (extras that
    pull CUDA wheels); None otherwise. ``-local`` jax extras use the system CUDA: None."""
    extras = [re.sub(r"[-_.]+", "-", e.lower()) for e in ref.extras]
    allowed = kb.packages().get("cuda_framework_extras", {}).get(ref.name)
    if not allowed:
        return None
    for e in extras:
        if e in allowed and not e.endswith("-local"):
            return e
    return None


def _jax_local(ref) -> bool:
    return ref.name == "jax" and any("local" in e for e in ref.extras)


def _torch_desc(fw) -> str:
    ver = fw.version or "(unpinned)"
    cuda = kb.cuda_of_tag(fw.build or "")
    how = {"local label": "its local label", "index": f"the index {fw.index.url if fw.index else ''}",
           "extra index": f"the extra index {fw.index.url if fw.index else ''}",
           "PyPI default": "PyPI, whose Linux wheel is the CUDA build",
           "uv --torch-backend": "uv --torch-backend"}.get(fw.build_source or "", "its index")
    return f"torch {ver} ({fw.build} build, CUDA {cuda}, from {how})"


def _slice(df, span) -> str:
    return df.source.text[span.start:span.end]


def _replace_once(df, span, old: str, new: str) -> Edit | None:
    """An edit replacing the single occurrence of ``old`` inside ``span``; None when it does
    not occur exactly once (escapes, variables)."""
    text = _slice(df, span)
    if text.count(old) != 1:
        return None
    at = span.start + text.index(old)
    return Edit(at, at + len(old), new)


def _index_words(pip, option_names: tuple[str, ...]):
    """(option word, url word) pairs of the pip command for the given options
    (``--index-url URL`` gives two words, ``--index-url=URL`` one, used for both)."""
    words = pip.command.argv
    out = []
    for i, w in enumerate(words):
        v = w.value
        if v is None:
            continue
        for name in option_names:
            if v == name and i + 1 < len(words):
                out.append((w, words[i + 1]))
            elif v.startswith(name + "="):
                out.append((w, w))
    return out


def _base_arg(sm):
    """The FROM image argument of the stage at the bottom of the lineage, if written."""
    root = sm.lineage()[-1]
    ins = root.stage.from_
    if ins is None or ins.swallowed or not ins.args:
        return None
    return ins.args[0]


def _via_args(sm) -> str:
    arg = _base_arg(sm)
    if arg is not None and "$" in arg.value:
        return f" (`{arg.value}` with the ARG defaults)"
    return ""


def _image(sm) -> str:
    base = sm.root_base
    return f"{base.repository}:{base.tag}" if base is not None else "the base image"


# ------------------------------------------------------------------------------ MLD701
@rule("MLD701")
def cuda_wheel_base_mismatch(df, model, ctx) -> Iterator[Violation]:
    """A CUDA torch build whose CUDA differs from the CUDA of the base image."""
    for sm in model.stages:
        cuda = sm.cuda
        if cuda is None or not cuda.version:
            continue
        fw = _effective_torch(sm)
        if fw is None or id(fw.step) not in _own_steps(sm) or fw.step.instruction.swallowed:
            continue
        if not fw.build or not fw.build.startswith("cu"):
            continue
        wheel = kb.cuda_of_tag(fw.build)
        if wheel is None or wheel == cuda.version:
            continue
        w_major, b_major = wheel.split(".")[0], cuda.version.split(".")[0]
        ngc = cuda.source.startswith("NGC")
        base_flavor = cuda.flavor == "base"
        image = f"{cuda.source}{_via_args(sm)}"
        what = _torch_desc(fw)
        if w_major != b_major:
            if int(w_major) > int(b_major):
                floor = kb.data()["cuda"]["driver_floor_by_major"].get(w_major, {}).get("min_linux")
                need = f" (driver >= {floor})" if floor else ""
                msg = (f"{what} needs a CUDA {w_major} driver{need}, but the base image {image} "
                       f"provides CUDA {cuda.version} and may be deployed on hosts whose driver "
                       f"cannot load it: the container starts and torch.cuda.is_available() is "
                       f"False; nvcc {cuda.version} also cannot build extensions for this torch")
            else:
                if base_flavor:
                    continue
                msg = (f"{what} brings its own CUDA {wheel} libraries, while the base image "
                       f"{image} provides CUDA {cuda.version}: different CUDA majors, so the "
                       f"image carries two CUDA stacks (1-3 GB duplicated) and nvcc "
                       f"{cuda.version} cannot build extensions for this torch")
        else:
            if base_flavor or ngc or cuda.flavor == "gpu":
                # -base has no CUDA libraries to duplicate; replacing NGC's torch is MLD710; the
                # CUDA of a tensorflow -gpu image comes from TF's tested build table, not the tag
                continue
            if cuda.framework:
                msg = (f"{what} replaces the base image's torch {cuda.framework[1]} "
                       f"(CUDA {cuda.version}) from {image}: the image keeps both CUDA "
                       f"{cuda.version} and CUDA {wheel} libraries (1-3 GB duplicated)")
            else:
                msg = (f"{what} differs in CUDA minor version from the base image {image} "
                       f"(CUDA {cuda.version}): torch loads its own CUDA {wheel} libraries, "
                       f"so the base's CUDA {cuda.version} libraries are 1-3 GB of duplicates")
        fix = _fix_701(df, fw, cuda.version)
        if fix is not None:
            msg += f"; use the {kb.tag_of_cuda(cuda.version)} build of torch {fw.version}"
        yield Violation(fw.ref.span, msg, fix=fix)


def _fix_701(df, fw, base_cuda: str) -> Fix | None:
    """Switch the index (or local label) to the base's CUDA when the knowledge base says that
    torch version was published for it."""
    if not fw.version:
        return None
    tag = kb.tag_of_cuda(base_cuda)
    if kb.torch_published_for(fw.version, tag) is not True:
        return None
    old = fw.build
    edits: list[Edit] = []
    if fw.build_source == "index":
        for _opt_w, url_w in _index_words(fw.pip, ("--index-url", "-i", "--default-index")):
            e = _replace_once(df, url_w.span, f"/whl/{old}", f"/whl/{tag}")
            if e is None:
                return None
            edits.append(e)
        if not edits:
            return None
        # labelled companions on the same line follow the index
        for ref in fw.pip.packages:
            if kb.local_label(ref.version) == old:
                e = _replace_once(df, ref.span, f"+{old}", f"+{tag}")
                if e is None:
                    return None
                edits.append(e)
    elif fw.build_source == "local label":
        if any(f"/whl/{old}" in o for o in fw.pip.options if o.startswith(("-f", "--find-links"))):
            return None  # a per-CUDA find-links page would have to change too
        for ref in fw.pip.packages:
            if kb.local_label(ref.version) == old:
                e = _replace_once(df, ref.span, f"+{old}", f"+{tag}")
                if e is None:
                    return None
                edits.append(e)
        for _opt_w, url_w in _index_words(fw.pip, ("--index-url", "-i", "--extra-index-url")):
            if f"/whl/{old}" in (url_w.value or ""):
                e = _replace_once(df, url_w.span, f"/whl/{old}", f"/whl/{tag}")
                if e is None:
                    return None
                edits.append(e)
    elif fw.build_source == "PyPI default":
        # only when every package of the command is on the PyTorch index
        pip = fw.pip
        if any(r.name not in TORCH_FAMILY for r in pip.packages) or pip.requirement_files \
                or pip.local or pip.constraint_files:
            return None
        end = pip.install_word.span.end
        edits.append(Edit(end, end, f" --index-url {INDEX_BASE}{tag}"))
    else:
        return None
    if not edits or len({e.start for e in edits}) != len(edits):
        return None
    return Fix(edits=tuple(sorted(edits, key=lambda e: e.start)), applicability="unsafe",
               title=f"Install the {tag} build of torch {kb.public_version(fw.version)}")


# ------------------------------------------------------------------------------ MLD702
def _gpu_intent(df, model) -> list[str]:
    """Reasons anywhere in the file to believe the image targets a GPU (or that the base is
    unknown). Broader than ``StageModel.gpu_signals()`` on purpose: a rule that assumes a CPU
    image must stay quiet whenever a GPU is plausible."""
    out: list[str] = []
    for sm in model.stages:
        out.extend(sm.gpu_signals())
        base = sm.root_base
        if base is None or not sm.lineage()[-1].base_complete:
            out.append("base image unknown")
        elif _GPU_IMAGE_RE.search(base.raw):
            out.append(f"GPU base image {base.raw}")
        if sm.cuda is not None:
            out.append(f"CUDA base image {sm.cuda.source}")
        for step in sm.steps:
            ins = step.instruction
            if ins.swallowed:
                continue
            kw = ins.keyword
            if kw in ("ENV", "ARG", "LABEL", "CMD", "ENTRYPOINT"):
                if _GPU_WORD_RE.search(ins.line_text.value):
                    out.append(f"{kw} mentions a GPU")
            for apt in step.apt:
                for p in apt.packages:
                    if _APT_CUDA_RE.search(p.name) or p.name.startswith("nvidia"):
                        out.append(f"system package {p.name}")
            for cmd in step.commands:
                if pip_args(cmd) is not None:
                    continue
                if any(_GPU_WORD_RE.search(w.text) for w in cmd.argv):
                    out.append("a RUN command mentions CUDA/GPU")
            for pip in step.pip:
                for ref in pip.packages:
                    if ref.name.endswith("-gpu") or "cuda" in ref.name or ref.name.startswith(
                            ("nvidia-", "cupy")):
                        out.append(f"GPU package {ref.name}")
        ins = sm.stage.from_
        if ins is not None:
            for f in ins.flags_named("platform"):
                if f.value and re.search(r"arm|aarch|windows", f.value):
                    out.append(f"platform {f.value}")
        if base is not None and re.search(r"windows|servercore|nanoserver|alpine",
                                          f"{base.repository}:{base.tag}"):
            out.append(f"base {base.raw} (no Linux glibc CUDA wheels)")
    for c in df.comments:
        if _GPU_WORD_RE.search(c.text):
            out.append("a comment mentions CUDA/GPU")
    return out


_INSTALL_PATH_RE = re.compile(r"venv|site-packages|dist-packages|\.local|/usr/local|/opt/conda|"
                              r"/install|wheel|python|^/$|^/opt/?$|/usr/?$|/lib/?$")


def _shipped_stages(model) -> list:
    """Stages whose installed packages end up in the final image: the final stage's lineage and
    stages it copies an install location from (a venv, site-packages, /usr/local, ...)."""
    final = model.final
    if final is None:
        return []
    out = list(final.lineage())
    for st in final.lineage():
        for cp in st.copies:
            src = cp.from_stage
            if src is None or any(src is o for o in out):
                continue
            if any(_INSTALL_PATH_RE.search(s) for s in cp.sources):
                out.extend(x for x in src.lineage() if not any(x is o for o in out))
    return out


def _explicit_non_cuda_torch(fw) -> bool:
    """An install of torch with an explicit non-CUDA build (CPU, ROCm...): a later plain
    ``torch`` requirement in the lineage is satisfied by it."""
    return fw.package == "torch" and bool(fw.build) and not fw.build.startswith("cu")


def _cuda_framework_refs(sm):
    """(ref, pip, step, description) of CUDA framework wheels that pip takes from PyPI in the
    stage's own RUNs: torch from PyPI, tensorflow[and-cuda], jax[cudaNN]."""
    own = _own_steps(sm)
    cpu_before = False  # torch with an explicit non-CUDA build earlier in the lineage
    for fw in sm.frameworks():
        earlier_cpu, cpu_before = cpu_before, cpu_before or _explicit_non_cuda_torch(fw)
        if id(fw.step) not in own or fw.step.instruction.swallowed:
            continue
        if fw.package == "torch" and _pypi_torch(fw, fw.step.env):
            if earlier_cpu:
                continue
            if fw.build:
                cuda = kb.cuda_of_tag(fw.build)
                desc = (f"torch {fw.version} from PyPI is a CUDA {cuda} build on Linux "
                        f"(nvidia-* wheels, {CUDA_WEIGHT} of CUDA libraries)")
            else:
                desc = (f"torch{fw.ref.specifier or ''} from PyPI is a CUDA build on Linux "
                        f"(nvidia-* wheels, {CUDA_WEIGHT} of CUDA libraries)")
            yield fw.ref, fw.pip, fw.step, desc
    for step in sm.steps:
        if step.instruction.swallowed:
            continue
        for pip in step.pip:
            for ref in pip.packages:
                extra = _cuda_extra(ref)
                if extra:
                    yield ref, pip, step, (f"{ref.name}[{extra}] installs CUDA wheels "
                                           f"(nvidia-* packages, {CUDA_WEIGHT})")


@rule("MLD702")
def cuda_wheel_in_cpu_image(df, model, ctx) -> Iterator[Violation]:
    """A CUDA build of a framework installed in an image with no GPU signal."""
    if not model.stages:
        return
    found = []
    for sm in _shipped_stages(model):
        for ref, pip, step, desc in _cuda_framework_refs(sm):
            found.append((sm, ref, pip, desc))
    if not found or _gpu_intent(df, model):
        return
    seen = set()
    for sm, ref, pip, desc in found:
        if id(ref) in seen:
            continue
        seen.add(id(ref))
        image = _image(sm)
        if ref.name == "torch":
            advice = (f"if it runs on CPU, install the CPU build with "
                      f"`--index-url {INDEX_BASE}cpu`")
        elif ref.name == "tensorflow":
            advice = "if it runs on CPU, install `tensorflow-cpu` (or plain `tensorflow`)"
        else:
            advice = "if it runs on CPU, install plain `jax`"
        msg = (f"{desc}, but nothing in this image targets a GPU (base {image}: no CUDA base, "
               f"no NVIDIA_* ENV, no explicit CUDA build, no GPU-only package); {advice}, or "
               f"the CUDA libraries are dead weight")
        yield Violation(ref.span, msg, fix=_fix_702(pip, ref))


def _fix_702(pip, ref) -> Fix | None:
    if ref.name != "torch":
        return None
    if any(r.name not in TORCH_FAMILY for r in pip.packages) or pip.requirement_files \
            or pip.local or pip.constraint_files or any(r.url for r in pip.packages):
        return None
    end = pip.install_word.span.end
    from ..knowledge.sizes import torch_cuda_over_cpu

    return Fix(edits=(Edit(end, end, f" --index-url {INDEX_BASE}cpu"),), applicability="unsafe",
               title="Install the CPU build of torch from the PyTorch CPU index",
               saves=Saving(torch_cuda_over_cpu(), "CPU torch"))


# ------------------------------------------------------------------------------ MLD703
def _torch_for_exact(cv: str, package: str) -> list[str]:
    """Torch versions the exact-pair table pairs with ``package`` ``cv``."""
    out = []
    for tv, row in kb.data()["pytorch"]["exact_pairs"].items():
        if cv in [str(v) for v in (row.get(package) or [])]:
            out.append(str(tv))
    return out


@rule("MLD703")
def torch_companion_version_mismatch(df, model, ctx) -> Iterator[Violation]:
    """torchvision/torchaudio/torchcodec pinned to a version that does not pair with torch."""
    for sm in model.stages:
        own = _own_steps(sm)
        torch_pin = None  # (version, where) of the torch in effect
        base = _base_torch(sm)
        cuda = sm.cuda
        if base and cuda is not None and cuda.source.startswith("pytorch/pytorch"):
            torch_pin = (base, f"torch {base} from the base image {cuda.source}")
        installs = sm.frameworks()
        for fw in installs:
            if fw.package == "torch":
                if fw.version and not _noop_reinstall(fw, torch_pin[0] if torch_pin else None):
                    line = df.source.position(fw.ref.span.start)[0]
                    torch_pin = (fw.version, f"torch {fw.version} pinned on line {line}")
                elif not fw.version:
                    torch_pin = None if fw.ref.specifier or fw.pip.upgrade else torch_pin
                continue
            if fw.package not in COMPANIONS or id(fw.step) not in own:
                continue
            if fw.step.instruction.swallowed or not fw.version or torch_pin is None:
                continue
            # torch of the same command wins over an earlier one
            same = next((f for f in installs if f.pip is fw.pip and f.package == "torch"
                         and f.version), None)
            tver, where = ((same.version, f"torch {same.version} in the same command") if same
                           else torch_pin)
            yield from _check_pair(df, fw, tver, where, same is not None)


def _check_pair(df, fw, tver: str, where: str, same_cmd: bool) -> Iterator[Violation]:
    cv = fw.version
    pkg = fw.package
    t_label, c_label = kb.local_label(tver), kb.local_label(cv)
    if t_label and c_label and t_label != c_label:
        yield Violation(fw.ref.span, (
            f"{pkg} {cv} is the {c_label} build but torch is the {t_label} build ({where}): mixed local labels cannot be installed together (pip fails, or replaces "
            f"torch with the {c_label} build); use {pkg}=={kb.public_version(cv)}+{t_label}"),
            severity="error", fix=_fix_703(df, fw, f"+{c_label}", f"+{t_label}"))
        return
    check = kb.companion_check(tver, pkg, cv)
    effect = ("pip cannot resolve both and the build fails" if same_cmd else
              "pip replaces the installed torch with the one it requires, or fails")
    needs = _torch_for_exact(kb.public_version(cv), pkg)
    needs_txt = f"; {pkg} {kb.public_version(cv)} requires torch=={needs[0]}" if len(needs) == 1 else ""
    want = " or ".join(f"{pkg}=={v}" for v in check.expected) if check.expected else ""
    if check.line_ok is False:
        if pkg == "torchaudio" and _torchaudio_frozen_ok(tver, cv):
            return
        rel = kb.torch_release(tver)
        verified = rel is None or rel.verified  # the line rule itself is from pytorch/vision
        if pkg == "torchcodec":
            verified = False
        msg = (f"{pkg} {cv} is not from torch {kb.public_version(tver)}'s release line "
               f"({where}{needs_txt}): {effect}")
        if want:
            msg += f"; pin {want}"
        yield Violation(fw.ref.span, msg, severity="error" if verified else "warning",
                        fix=_pair_fix(df, fw, check.expected))
        return
    if check.line_ok and check.exact_ok is False:
        msg = (f"{pkg} {cv} is from the right release line but torch "
               f"{kb.public_version(tver)} ({where}) pairs with {want or 'another release'} "
               f"in the exact-pair table: {effect}")
        if check.verified:
            yield Violation(fw.ref.span, msg, severity="warning",
                            fix=_pair_fix(df, fw, check.expected))
        else:
            yield Violation(fw.ref.span, msg + " (the table row is unverified)", severity="info")


def _pair_fix(df, fw, expected: tuple[str, ...]) -> Fix | None:
    """Pin the companion to the one version the table pairs with torch."""
    if len(expected) != 1 or expected[0].count(".") != 2:
        return None
    return _fix_703(df, fw, f"=={kb.public_version(fw.version)}", f"=={expected[0]}")


def _fix_703(df, fw, old: str, new: str) -> Fix | None:
    """Replace ``old`` by ``new`` in the companion's requirement word (unsafe)."""
    edit = _replace_once(df, fw.ref.span, old, new)
    if edit is None:
        return None
    return Fix(edits=(edit,), applicability="unsafe",
               title=f"Pin {fw.package} to the version paired with torch")


def _torchaudio_frozen_ok(tver: str, cv: str) -> bool:
    """torchaudio 2.11.0 is the last release and declares torch>=2.11 (ml.yaml
    ``torchaudio_last_release``): it pairs with every later torch."""
    last = kb.data()["pytorch"].get("torchaudio_last_release", {}).get("version")
    if not last or kb.public_version(cv) != str(last):
        return False
    from packaging.version import InvalidVersion, Version

    try:
        return Version(kb.public_version(tver)) >= Version(str(last))
    except InvalidVersion:
        return False


# ------------------------------------------------------------------------------ MLD706
def _frozen(tag: str) -> str | None:
    """The last release of a frozen CUDA index (``cu121`` -> ``2.5.1``); ``"?"`` for an old
    index the table does not list; None for a current index (or cpu)."""
    last = kb.index_last_release(tag)
    if last:
        return last
    cuda = kb.cuda_of_tag(tag)
    if cuda is not None and tuple(int(x) for x in cuda.split(".")) < (12, 6):
        return "?"
    return None


def _admits_newer(spec: str, last: str) -> bool:
    """Whether a specifier admits a torch release newer than ``last`` (checked against the
    releases the knowledge base knows, and a far-future one)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        ss = SpecifierSet(spec)
        lv = Version(last)
    except (InvalidSpecifier, InvalidVersion):
        return False
    cands = [f"{m}.0" for m in kb.data()["pytorch"]["releases"]] + [f"{m}.1" for m in
                                                                      kb.data()["pytorch"]["releases"]]
    cands.append("99.0.0")
    for c in cands:
        v = Version(c)
        if v > lv and ss.contains(v, prereleases=False):
            return True
    return False


@rule("MLD706")
def torch_extra_index_url(df, model, ctx) -> Iterator[Violation]:
    """A PyTorch index given with --extra-index-url where pip may take PyPI's build instead."""
    for sm in model.stages:
        for step in sm.runs():
            if step.instruction.swallowed:
                continue
            for pip in step.pip:
                v = _check_extra_index(df, pip)
                if v is not None:
                    yield v


def _check_extra_index(df, pip) -> Violation | None:
    if pip.kind == "uv" and not any("unsafe-best-match" in o for o in pip.options):
        return None  # uv takes a package from the first index that has it
    idx = next((t for t in (kb.torch_index(u) for u in pip.extra_index_urls) if t), None)
    if idx is None:
        return None
    if pip.index_url and kb.torch_index(pip.index_url):
        return None  # a PyTorch --index-url already replaces PyPI
    words = [p for p in _index_words(pip, ("--extra-index-url",)) if kb.torch_index(p[1].value
                                                                                    or "") == idx]
    opt_word = words[0][0] if words else None
    torch_refs = [r for r in pip.packages if r.name in ("torch", "torchvision", "torchaudio")]
    if idx.channel:
        target = opt_word.span if opt_word else (torch_refs[0].span if torch_refs else None)
        if target is None:
            return None
        msg = (f"the PyTorch {idx.channel} index {idx.url} is an --extra-index-url: pip takes "
               f"any package from PyPI instead when PyPI has a higher version (the torchtriton "
               f"dependency-confusion compromise of December 2022 used exactly this); use "
               f"--index-url")
        return Violation(target, msg, fix=_fix_706(df, pip, opt_word))
    last = _frozen(idx.tag) if idx.tag.startswith("cu") else None
    problems = []
    for ref in torch_refs:
        if kb.local_label(ref.version) or ref.url:
            continue
        if ref.name != "torch" and any(r.name == "torch" and r.version for r in torch_refs):
            continue  # the torch pin constrains its companions
        if ref.version:
            if ref.name == "torch":
                pub = kb.torch_published_for(ref.version, idx.tag)
                if pub is False:
                    problems.append((ref, f"torch=={ref.version} is not on the {idx.tag} index, "
                                          f"so pip installs PyPI's torch {ref.version} (a "
                                          f"{_pypi_build(ref.version)} build)"))
            continue
        if last is None:
            continue
        if not ref.specifier:
            bound = f"stops at torch {last}" if last != "?" else "no longer receives releases"
            problems.append((ref, f"{ref.name} is unpinned and the {idx.tag} index {bound}, so "
                                  f"pip takes the newer {ref.name} from PyPI, a different "
                                  f"CUDA build"))
        elif ref.name == "torch" and last != "?" and _admits_newer(ref.specifier, last):
            problems.append((ref, f"torch{ref.specifier} admits versions newer than {last}, the "
                                  f"last release on the {idx.tag} index, so pip takes PyPI's "
                                  f"newer torch, a different CUDA build"))
    if not problems:
        return None
    ref, why = problems[0]
    msg = (f"{why}; with --extra-index-url pip merges PyPI and {idx.url} and takes the highest "
           f"version. Use --index-url {idx.url} or pin an exact version published there")
    return Violation(ref.span, msg, fix=_fix_706(df, pip, opt_word))


def _pypi_build(version: str) -> str:
    rel = kb.torch_release(version)
    return f"CUDA {kb.cuda_of_tag(rel.pypi_default)}" if rel and rel.pypi_default else "different"


def _fix_706(df, pip, opt_word) -> Fix | None:
    """``--extra-index-url`` -> ``--index-url`` when every package of the command is on the
    PyTorch index (torch, torchvision, torchaudio), safe."""
    if opt_word is None or pip.index_url or pip.requirement_files or pip.local or \
            pip.constraint_files or not pip.packages:
        return None
    if any(r.name not in ("torch", "torchvision", "torchaudio") for r in pip.packages):
        return None
    if len(pip.extra_index_urls) != 1:
        return None
    text = _slice(df, opt_word.span)
    if not text.startswith("--extra-index-url"):
        return None
    start = opt_word.span.start
    return Fix(edits=(Edit(start, start + len("--extra-index-url"), "--index-url"),),
               applicability="safe", title="Use --index-url for the PyTorch index")


# ------------------------------------------------------------------------------ MLD713
def _gpu_wheels(sm, lineage_only: bool = False):
    """(ref, description) of CUDA wheels chosen explicitly for a GPU in the stage's lineage:
    a cuXYZ torch build (label, index, uv backend), tensorflow[and-cuda], jax[cudaNN], GPU-only
    packages."""
    gpu_only = kb.gpu_only_packages()
    prefixes = kb.gpu_only_prefixes()
    for fw in sm.frameworks():
        if fw.step.instruction.swallowed:
            continue
        if fw.build and fw.build.startswith("cu") and fw.build_source != "PyPI default":
            yield fw.ref, f"{fw.package} {fw.version or ''} ({fw.build} build)".replace("  ", " ")
    for step in sm.all_runs():
        if step.instruction.swallowed:
            continue
        for pip in step.pip:
            for ref in pip.packages:
                extra = _cuda_extra(ref)
                if extra:
                    yield ref, f"{ref.name}[{extra}]"
                elif ref.name in gpu_only or ref.name.startswith(prefixes):
                    yield ref, ref.name


@rule("MLD713")
def nvidia_capabilities_missing(df, model, ctx) -> Iterator[Violation]:
    """A GPU image on a non-NVIDIA base without NVIDIA_VISIBLE_DEVICES/NVIDIA_DRIVER_CAPABILITIES."""
    sm = model.final
    if sm is None or sm.root_base is None or not sm.lineage()[-1].base_complete:
        return
    base = sm.root_base
    facts = image_facts(base.repository, base.tag)
    if facts is None or facts.family not in _GENERAL_FAMILIES:
        return
    env = sm.final_env
    if env.get("NVIDIA_VISIBLE_DEVICES") or env.get("NVIDIA_DRIVER_CAPABILITIES"):
        return
    wheels = list(_gpu_wheels(sm))
    copy_span = None
    if not wheels:
        for cp in sm.copies:
            if cp.from_stage is not None and not cp.instruction.swallowed:
                wheels = list(_gpu_wheels(cp.from_stage))
                if wheels:
                    copy_span = cp.instruction.keyword_span
                    break
    if not wheels:
        return
    ref, desc = wheels[0]
    ref_span = copy_span or ref.span
    msg = (f"this GPU image installs {desc} on {base.repository}:{base.tag}, which (unlike "
           f"nvidia/cuda, NGC and pytorch/pytorch images) sets neither NVIDIA_VISIBLE_DEVICES "
           f"nor NVIDIA_DRIVER_CAPABILITIES: on some container runtimes the CUDA driver "
           f"libraries are then not mounted and CUDA sees no GPU; add "
           f"`ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility`")
    yield Violation(ref_span, msg, fix=_fix_713(df, sm))


def _fix_713(df, sm) -> Fix | None:
    ins = sm.stage.from_
    if ins is None:
        return None
    nl = df.source.newline
    at = ins.span.end
    return Fix(edits=(Edit(at, at, f"{nl}ENV NVIDIA_VISIBLE_DEVICES=all "
                                   f"NVIDIA_DRIVER_CAPABILITIES=compute,utility"),),
               applicability="safe", title="Set NVIDIA_VISIBLE_DEVICES and NVIDIA_DRIVER_CAPABILITIES")


# ------------------------------------------------------------------------------ MLD715
def _system_cuda_user(sm, ctx) -> str | None:
    """Something in the lineage that may load the base image's CUDA libraries: a package that
    uses system CUDA, a CUDA system package, a compile step, an unreadable requirements file."""
    for step in sm.all_runs():
        for apt in step.apt:
            for p in apt.packages:
                if _APT_CUDA_RE.search(p.name):
                    return f"system package {p.name}"
        for pip in step.pip:
            for ref in pip.packages:
                if _jax_local(ref):
                    return f"{ref.raw} (uses the system CUDA)"
                if ref.name == "tensorflow" and _cuda_extra(ref):
                    continue
                if ref.name in _SYSTEM_CUDA_USERS or ref.name.startswith(_SYSTEM_CUDA_PREFIXES):
                    return ref.name
            for path in pip.requirement_files:
                names = _requirement_names(ctx, path, step)
                if names is None:
                    return f"requirements file {path}"
                for n in names:
                    if n in _SYSTEM_CUDA_USERS or n.startswith(_SYSTEM_CUDA_PREFIXES):
                        return n
            if pip.local:
                return "a local package install"
        for cmd in step.commands:
            if cmd.name in ("nvcc", "cmake", "make", "ninja", "conda", "mamba", "micromamba"):
                return cmd.name
            if cmd.name and re.match(r"python[\d.]*$", cmd.name) and any(
                    (w.value or "").endswith("setup.py") for w in cmd.argv[1:]):
                return "setup.py"
    return None


def _requirement_names(ctx, path: str, step) -> list[str] | None:
    """Package names in a requirements file of the build context (None when unreadable)."""
    if "$" in path:
        return None
    rel = path.lstrip("./") if not path.startswith("/") else None
    text = ctx.read_context_file(rel) if rel else None
    if text is None:
        return None
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            if line.startswith(("-r", "--requirement", "-c", "--constraint", "-e", "--editable")):
                return None
            continue
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if m:
            names.append(re.sub(r"[-_.]+", "-", m.group(1)).lower())
    return names


@rule("MLD715")
def redundant_cuda_runtime_base(df, model, ctx) -> Iterator[Violation]:
    """CUDA framework wheels on an nvidia/cuda -runtime base whose CUDA libraries go unused."""
    final = model.final
    if final is None:
        return
    for sm in final.lineage():
        cuda = sm.cuda
        base = sm.root_base
        if cuda is None or base is None or base.repository != "nvidia/cuda":
            continue
        if cuda.flavor not in ("runtime", "cudnn-runtime"):
            continue
        if sm.parent is not None:
            continue  # reported on the stage that names the image
        wheels = []
        for st in final.lineage():
            wheels.extend(_cuda_framework_refs_any(st))
        if not wheels:
            continue
        if _system_cuda_user(final, ctx):
            continue
        arg = _base_arg(sm)
        if arg is None:
            continue
        new_tag = re.sub(r"(?:-cudnn\d*)?-runtime(?=-|$)", "-base", base.tag, count=1)
        desc = wheels[0]
        msg = (f"{desc} brings its own CUDA libraries, so the CUDA {cuda.version} libraries of "
               f"{base.repository}:{base.tag} (1-3 GB"
               f"{', cuDNN included' if cuda.flavor == 'cudnn-runtime' else ''}) go unused; "
               f"`{base.repository}:{new_tag}` has only the CUDA runtime and the NVIDIA settings")
        yield Violation(arg.span, msg, fix=_fix_715(df, arg, base, new_tag))


def _cuda_framework_refs_any(sm) -> list[str]:
    """Descriptions of CUDA framework wheels pip installs in the stage's own RUNs (torch with a
    cuXYZ build from any source, tensorflow[and-cuda], jax[cudaNN])."""
    own = _own_steps(sm)
    out = []
    for fw in sm.frameworks():
        if id(fw.step) not in own or fw.step.instruction.swallowed or fw.package != "torch":
            continue
        if fw.build and fw.build.startswith("cu"):
            out.append(_torch_desc(fw))
        elif fw.build is None and _pypi_torch(fw, fw.step.env):
            out.append("torch from PyPI (a CUDA build on Linux)")
    for step in sm.steps:
        for pip in step.pip:
            for ref in pip.packages:
                extra = _cuda_extra(ref)
                if extra:
                    out.append(f"{ref.name}[{extra}]")
    return out


def _fix_715(df, arg, base, new_tag: str) -> Fix | None:
    written = _slice(df, arg.span)
    if written != arg.value or "$" in written or base.digest or not written.endswith(base.tag):
        return None
    start = arg.span.end - len(base.tag)
    return Fix(edits=(Edit(start, arg.span.end, new_tag),), applicability="unsafe",
               title=f"Use the -base flavor {new_tag}")
