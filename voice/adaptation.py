"""A voice profile: the acoustic model adapted to one speaker from sentences she read.

One MLLR transform of the model's means, estimated by SphinxTrain's tools from
her recordings and the words she was asked to say; PocketSphinx applies it when
the recognizer starts (see Recognizer's profile). On the dev set it took the
commands understood from synthetic voices, each adapted from twelve sentences
of its own, from 86% to 90% clean (README, "With a voice profile").

Her audio never touches the disk: it is fed to sphinx_fe on stdin, and only
the features (which are not audio) sit in a temporary folder while the tools run.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE
from .commands import normalize
from .errors import EngineError
from .recognizer import model_paths

SPHINXTRAIN_DIR = Path("/usr/lib/sphinxtrain")
"""Where Debian's sphinxtrain package puts bw and mllr_solve."""
TOOLS = {
    "sphinx_fe": "sphinxbase-utils",
    "pocketsphinx_mdef_convert": "pocketsphinx",
    "bw": "sphinxtrain",
    "mllr_solve": "sphinxtrain",
}
"""Each tool and the Debian package that has it."""
MIN_SHARE = 0.5
"""Sentences that must be heard as themselves with the profile learnt."""
_NOT_HEARD = (
    "only {held} of {total} sentences were heard as themselves: say each sentence as it is given, "
    "close to the microphone, in a quiet room"
)
_FRONT_END = ("lowerf", "upperf", "nfilt", "transform", "lifter")
"""The model's feature parameters that make the features (sphinx_fe)."""
_FEATURES = ("feat", "svspec", "agc", "varnorm")
"""Those that turn them into the model's input (bw)."""
_TIMEOUT = 300
"""Seconds a tool may take: bw on twelve sentences takes about one."""


class AdaptationError(EngineError):
    """The voice could not be learnt from these recordings."""


class SentenceCheck:
    """How many recordings are heard as the sentence she was asked for, each decoded
    against all the sentences. A forced alignment alone takes any audio for any
    words (given each other's sentence, bw aligned 11 of 12 readings), and a
    profile learnt from talk, noise or the wrong sentences would make her harder
    to understand, not easier; so a profile is kept only if, with it, her own
    readings are heard as themselves. Without one, the voices the model knows
    worst are not (the dev set's en-029 voice: 2 of 12 sentences; with its
    profile, 9)."""

    def __init__(self, sentences: Sequence[str], profile: Path) -> None:
        hmm, dictionary = model_paths()
        import pocketsphinx

        alternatives = " | ".join(f"( {' '.join(normalize(sentence))} )" for sentence in dict.fromkeys(sentences))
        try:
            self._decoder = pocketsphinx.Decoder(
                hmm=str(hmm), dict=str(dictionary), lm=None, logfn=os.devnull, mllr=str(profile)
            )
            grammar = f"#JSGF V1.0;\ngrammar sentences;\npublic <s> = {alternatives};\n"
            self._decoder.add_jsgf_string("sentences", grammar)
            self._decoder.activate_search("sentences")
        except (RuntimeError, ValueError) as exc:
            raise AdaptationError(f"the profile learnt does not load: {exc}") from None

    def held(self, recordings: Sequence[tuple[bytes, str]]) -> int:
        count = 0
        for pcm, sentence in recordings:
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
            hypothesis = self._decoder.hyp()
            count += hypothesis is not None and normalize(hypothesis.hypstr) == normalize(sentence)
        return count


def unknown_words(sentences: Sequence[str]) -> list[str]:
    """Words of the sentences that the pronunciation dictionary lacks."""
    _, dictionary = model_paths()
    known = _dictionary_words(dictionary)
    return sorted({word for sentence in sentences for word in normalize(sentence) if word not in known})


def learn(recordings: Sequence[tuple[bytes, str]], out: Path) -> int:
    """Learn a profile from (16 kHz mono PCM, sentence said) pairs and write it to out
    (replaced whole, or left as it was on failure). Returns how many sentences it
    hears as themselves with the profile. Raises AdaptationError, or EngineError
    when a tool is missing."""
    tools = _tools()
    if not recordings:
        raise AdaptationError("no sentence was heard")
    hmm, dictionary = model_paths()
    words = unknown_words([text for _, text in recordings])
    if words:
        raise AdaptationError(f"these words are not in the pronunciation dictionary: {', '.join(words)}")
    params = _feat_params(hmm / "feat.params")
    with tempfile.TemporaryDirectory(prefix="voice-profile-") as tmp:
        work = Path(tmp)
        model = _trainable_model(hmm, work / "model", tools)
        (work / "features").mkdir()
        names = []
        for i, (pcm, _) in enumerate(recordings):
            name = f"u{i:03d}"
            _run([tools["sphinx_fe"], *_flags(params, _FRONT_END), "-samprate", str(SAMPLE_RATE), "-raw", "yes",
                  "-input_endian", "little", "-i", "/dev/stdin", "-o", str(work / "features" / f"{name}.mfc")],
                 stdin=pcm)
            names.append(name)
        (work / "list").write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
        (work / "words").write_text(
            "".join(f"<s> {' '.join(normalize(text))} </s> ({name})\n" for name, (_, text) in zip(names, recordings)),
            encoding="utf-8",
        )
        (work / "counts").mkdir()
        done = _run([
            tools["bw"], "-hmmdir", str(model), "-moddeffn", str(model / "mdef.txt"), "-ts2cbfn", ".ptm.",
            *_flags(params, _FEATURES), "-cmn", "current", "-dictfn", str(dictionary),
            "-fdictfn", str(model / "noisedict"), "-ctlfn", str(work / "list"), "-lsnfn", str(work / "words"),
            "-cepdir", str(work / "features"), "-accumdir", str(work / "counts"),
        ])
        # bw skips, and says so, an utterance whose audio it cannot align to its words.
        if done.count(" ignored") == len(names):
            raise AdaptationError(_NOT_HEARD.format(held=0, total=len(names)))
        solved = work / "profile"
        _run([tools["mllr_solve"], "-meanfn", str(model / "means"), "-varfn", str(model / "variances"),
              "-outmllrfn", str(solved), "-accumdir", str(work / "counts")])
        held = SentenceCheck([text for _, text in recordings], solved).held(recordings)
        if held < MIN_SHARE * len(recordings):
            raise AdaptationError(_NOT_HEARD.format(held=held, total=len(recordings)))
        out.parent.mkdir(parents=True, exist_ok=True)
        staged = out.with_name(out.name + ".tmp")
        shutil.copyfile(solved, staged)
        os.replace(staged, out)
    return held


def _tools() -> dict[str, str]:
    found, missing = {}, []
    for tool, package in TOOLS.items():
        path = shutil.which(tool) or shutil.which(tool, path=str(SPHINXTRAIN_DIR))
        if path is None:
            missing.append(package)
        else:
            found[tool] = path
    if missing:
        names = " ".join(dict.fromkeys(missing))
        raise EngineError(f"learning a voice needs SphinxTrain's tools: install the Debian packages {names}")
    return found


def _run(command: list[str], stdin: bytes = b"") -> str:
    """The tool's log (stdout and stderr); AdaptationError if it fails."""
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AdaptationError(f"{Path(command[0]).name} failed: {exc}") from None
    log = (done.stdout + done.stderr).decode("utf-8", "replace")
    if done.returncode != 0:
        last = [line for line in log.splitlines() if "ERROR" in line or "FATAL" in line][-1:]
        detail = f": {last[0]}" if last else ""
        raise AdaptationError(f"{Path(command[0]).name} failed (exit {done.returncode}){detail}")
    return log


def _feat_params(path: Path) -> dict[str, str]:
    params = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, value = line.strip().partition(" ")
        if name.startswith("-"):
            params[name[1:]] = value.strip()
    return params


def _flags(params: dict[str, str], names: Sequence[str]) -> list[str]:
    return [item for name in names if name in params for item in (f"-{name}", params[name])]


def _trainable_model(hmm: Path, folder: Path, tools: dict[str, str]) -> Path:
    """The model as bw reads it: PocketSphinx ships its model definition in binary
    and its mixture weights 8-bit quantized (sendump); bw wants text and floats."""
    folder.mkdir()
    for name in ("means", "variances", "transition_matrices", "noisedict", "feat.params"):
        shutil.copyfile(hmm / name, folder / name)
    _run([tools["pocketsphinx_mdef_convert"], "-text", str(hmm / "mdef"), str(folder / "mdef.txt")])
    _write_mixture_weights(folder / "mixture_weights", _read_sendump(hmm / "sendump"))
    return folder


def _read_sendump(path: Path) -> np.ndarray:
    """Mixture weights (senones x streams x Gaussians) from PocketSphinx's sendump:
    a title, "name value" header strings, then per stream and Gaussian one byte a
    senone, each -log base 1.0001 of the weight, shifted right by mixw_shift."""
    data = path.read_bytes()
    pos = 0

    def int32() -> int:
        nonlocal pos
        (value,) = struct.unpack_from("<i", data, pos)
        pos += 4
        return int(value)

    try:
        title = int32()
        pos += title
        header = {}
        while (size := int32()) != 0:
            name, _, value = data[pos : pos + size - 1].decode("ascii").partition(" ")
            header[name] = value
            pos += size
        if int(header.get("cluster_count", 0)) != 0:
            raise ValueError("clustered weights")
        shift, streams = int(header.get("mixw_shift", 10)), int(header.get("feature_count", 1))
        gaussians, senones = int32(), int32()
        quantized = np.frombuffer(data, np.uint8, streams * gaussians * senones, pos)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise EngineError(f"cannot read the model's mixture weights {path}: {exc}") from None
    log_weights = quantized.reshape(streams, gaussians, senones).astype(np.float64) * (1 << shift)
    return np.power(1.0001, -log_weights).transpose(2, 0, 1)


def _write_mixture_weights(path: Path, weights: np.ndarray) -> None:
    """SphinxTrain's binary float format: header, byte-order mark, shape, values."""
    weights = weights / weights.sum(axis=2, keepdims=True)
    with open(path, "wb") as file:
        file.write(b"s3\nversion 1.0\nendhdr\n")
        file.write(struct.pack("<I", 0x11223344))
        file.write(struct.pack("<4I", *weights.shape, weights.size))
        file.write(weights.astype("<f4").tobytes())


def _dictionary_words(path: Path) -> frozenset[str]:
    """The dictionary's words, alternative pronunciations ("word(2)") folded in."""
    with open(path, encoding="utf-8") as file:
        return frozenset(line.split(" ", 1)[0].split("(", 1)[0] for line in file if line.strip())
