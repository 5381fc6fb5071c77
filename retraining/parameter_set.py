"""A version's per-question and per-learner parameters as named arrays, and their compact binary form.

No Django here: :mod:`retraining.parameter_store` keeps the bytes in the database (in chunks, so any
database and any learner count fit), :mod:`retraining.serving` predicts from the arrays, and the
migration that moved the parameters out of the version row uses :meth:`ParameterSet.from_json`.

The binary form is an uncompressed ``.npz`` (numpy's zip of ``.npy`` arrays, read without pickle):
floats stay float64, so nothing is rounded. Ids are stored as one UTF-8 blob and the end offset of
each id; learner ids that are all SHA-256 hex digests (the stored user hashes) are stored as their
32 raw bytes each instead of 64 characters.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import numpy as np

_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_DIGEST_BYTES = 32


def _empty_floats() -> np.ndarray:
    return np.zeros(0, dtype=np.float64)


def _empty_ints() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class ParameterSet:
    """Per-question, per-learner and per-(learner, module) parameters of one version, in stored order.

    ``ability_sd`` is NaN where a learner has none (the heuristic). ``module_difficulty`` is NaN for a
    module that has deviations but no mean difficulty. ``deviation_user`` and ``deviation_module`` are
    positions in ``user_ids`` and ``module_ids``.
    """

    question_ids: list[str] = field(default_factory=list)
    difficulty: np.ndarray = field(default_factory=_empty_floats)
    discrimination: np.ndarray = field(default_factory=_empty_floats)
    answers: np.ndarray = field(default_factory=_empty_ints)
    success_rate: np.ndarray = field(default_factory=_empty_floats)
    user_ids: list[str] = field(default_factory=list)
    ability: np.ndarray = field(default_factory=_empty_floats)
    ability_sd: np.ndarray = field(default_factory=_empty_floats)
    module_ids: list[str] = field(default_factory=list)
    module_difficulty: np.ndarray = field(default_factory=_empty_floats)
    deviation_user: np.ndarray = field(default_factory=_empty_ints)
    deviation_module: np.ndarray = field(default_factory=_empty_ints)
    deviation: np.ndarray = field(default_factory=_empty_floats)

    _ARRAYS = (
        "difficulty",
        "discrimination",
        "answers",
        "success_rate",
        "ability",
        "ability_sd",
        "module_difficulty",
        "deviation_user",
        "deviation_module",
        "deviation",
    )
    _IDS = ("question_ids", "user_ids", "module_ids")

    @property
    def has_modules(self) -> bool:
        return bool(self.module_ids)

    # ------------------------------------------------------------------------------ bytes
    def to_bytes(self) -> bytes:
        arrays = {name: np.ascontiguousarray(getattr(self, name)) for name in self._ARRAYS}
        for name in self._IDS:
            arrays.update(_ids_encode(name, getattr(self, name)))
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ParameterSet:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        values = {name: arrays[name] for name in cls._ARRAYS}
        for name in cls._IDS:
            values[name] = _ids_decode(name, arrays)
        return cls(**values)

    # ------------------------------------------------------------------ the JSON form (API, tests, migration)
    def questions_json(self, start: int = 0, stop: int | None = None) -> list[tuple[str, dict]]:
        """``(question id, {difficulty, discrimination, answers, successRate})`` in stored order."""
        stop = len(self.question_ids) if stop is None else min(stop, len(self.question_ids))
        span = slice(start, max(start, stop))
        return list(
            zip(
                self.question_ids[span],
                (
                    {"difficulty": b, "discrimination": a, "answers": n, "successRate": r}
                    for b, a, n, r in zip(
                        self.difficulty[span].tolist(),
                        self.discrimination[span].tolist(),
                        self.answers[span].tolist(),
                        self.success_rate[span].tolist(),
                        strict=True,
                    )
                ),
                strict=True,
            )
        )

    def to_json(self) -> dict:
        """``questions``, ``users`` and, with modules, ``modules.difficulty`` and ``modules.deviations``:
        the per-question and per-learner part of the parameters as they were stored in the version row."""
        sds = [None if np.isnan(sd) else sd for sd in self.ability_sd.tolist()]
        parts: dict = {
            "questions": dict(self.questions_json()),
            "users": {
                u: {"ability": theta, "abilitySd": sd}
                for u, theta, sd in zip(self.user_ids, self.ability.tolist(), sds, strict=True)
                if not np.isnan(theta)  # NaN: a learner kept only for their module deviations
            },
        }
        if self.has_modules:
            deviations: dict[str, dict[str, float]] = {}
            for u, m, value in zip(
                self.deviation_user.tolist(), self.deviation_module.tolist(), self.deviation.tolist(), strict=True
            ):
                deviations.setdefault(self.user_ids[u], {})[self.module_ids[m]] = value
            difficulty = {
                m: b for m, b in zip(self.module_ids, self.module_difficulty.tolist(), strict=True) if not np.isnan(b)
            }
            parts["modules"] = {"difficulty": difficulty, "deviations": deviations}
        return parts

    @classmethod
    def from_json(cls, parameters: dict) -> tuple[dict, ParameterSet | None]:
        """Split parameters as once stored in the version row into their summaries (what stays in the
        row) and the per-question/per-learner arrays (``None`` when there are none)."""
        summaries = {key: value for key, value in parameters.items() if key not in ("questions", "users")}
        modules = dict(summaries.pop("modules", None) or {})
        module_difficulty = modules.pop("difficulty", None) or {}
        deviations = modules.pop("deviations", None) or {}
        if modules or module_difficulty or deviations:
            summaries["modules"] = modules
        questions = parameters.get("questions") or {}
        users = parameters.get("users") or {}
        if not (questions or users or module_difficulty or deviations):
            return summaries, None
        values = list(questions.values())
        user_ids = list(users)
        module_ids = list(module_difficulty)
        for by_module in deviations.values():
            module_ids.extend(m for m in by_module if m not in module_difficulty and m not in module_ids)
        module_position = {m: k for k, m in enumerate(module_ids)}
        user_position = {u: k for k, u in enumerate(user_ids)}
        for u in deviations:
            if u not in user_position:  # a deviation needs the learner's overall ability beside it
                user_position[u] = len(user_ids)
                user_ids.append(u)
                users = {**users, u: {"ability": float("nan"), "abilitySd": None}}
        pairs = [(user_position[u], module_position[m], v) for u, by in deviations.items() for m, v in by.items()]
        user_values = list(users.values())
        return summaries, cls(
            question_ids=list(questions),
            difficulty=_floats(q.get("difficulty") for q in values),
            discrimination=_floats(q.get("discrimination") for q in values),
            answers=np.array([int(q.get("answers") or 0) for q in values], dtype=np.int64),
            success_rate=_floats(q.get("successRate") for q in values),
            user_ids=user_ids,
            ability=_floats(u.get("ability") for u in user_values),
            ability_sd=_floats(u.get("abilitySd") for u in user_values),
            module_ids=module_ids,
            module_difficulty=_floats(module_difficulty.get(m) for m in module_ids),
            deviation_user=np.array([p[0] for p in pairs], dtype=np.int64),
            deviation_module=np.array([p[1] for p in pairs], dtype=np.int64),
            deviation=_floats(p[2] for p in pairs),
        )


def _floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _ids_encode(name: str, ids: list[str]) -> dict[str, np.ndarray]:
    joined = "".join(ids)
    if ids and len(joined) == _DIGEST_BYTES * 2 * len(ids) and all(_HEX_DIGEST.fullmatch(i) for i in ids):
        return {f"{name}__hex": np.frombuffer(bytes.fromhex(joined), dtype=np.uint8)}
    encoded = [i.encode("utf-8") for i in ids]
    ends = np.cumsum([len(e) for e in encoded], dtype=np.int64)
    return {f"{name}__utf8": np.frombuffer(b"".join(encoded), dtype=np.uint8), f"{name}__ends": ends}


def _ids_decode(name: str, arrays: dict[str, np.ndarray]) -> list[str]:
    if f"{name}__hex" in arrays:
        text = arrays[f"{name}__hex"].tobytes().hex()
        step = _DIGEST_BYTES * 2
        return [text[k : k + step] for k in range(0, len(text), step)]
    blob = arrays[f"{name}__utf8"].tobytes()
    ends = arrays[f"{name}__ends"].tolist()
    starts = [0, *ends[:-1]] if ends else []
    if blob.isascii():  # byte offsets are character offsets
        text = blob.decode("ascii")
        return [text[a:b] for a, b in zip(starts, ends, strict=True)]
    return [blob[a:b].decode("utf-8") for a, b in zip(starts, ends, strict=True)]


def chunks(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into pieces of at most ``size`` bytes (at least one piece)."""
    return [data[k : k + size] for k in range(0, len(data), size)] or [b""]


def parameters_merge(summaries: dict, arrays: ParameterSet | None) -> dict:
    """Summaries and arrays as one dict, in the shape the parameters once had in the version row."""
    merged = dict(summaries or {})
    if arrays is None:
        return merged
    parts = arrays.to_json()
    if "modules" in parts:
        merged["modules"] = {**(merged.get("modules") or {}), **parts.pop("modules")}
    return {**merged, **parts}
