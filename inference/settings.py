"""Settings of the inference service, read from the environment and ``.env``.

Every field maps to the upper-case environment variable of the same name
(``sentiment_model`` <- ``SENTIMENT_MODEL``). ``.env.example`` lists them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .languages import language_map


class TaskLimits(BaseModel):
    """Batching and queueing limits of one task; unset fields fall back to the defaults."""

    max_batch_size: int | None = Field(default=None, ge=1)
    max_wait_ms: float | None = Field(default=None, ge=0)
    max_queue: int | None = Field(default=None, ge=1)
    timeout_s: float | None = Field(default=None, gt=0)
    queue_timeout_s: float | None = Field(default=None, gt=0)


class PairEntry(BaseModel):
    """A TRANSLATE_PAIRS value in its object form: a model and its target token."""

    model_config = ConfigDict(extra="forbid")

    model: str
    target_token: str | None = None


class RayDeployment(BaseModel):
    """How ``serve --ray`` deploys one task (RAY_DEPLOYMENTS); unset fields take the
    "default" entry's value, then the built-in default (see ``inference/rayserve``)."""

    model_config = ConfigDict(extra="forbid")

    #: Fixed replica count; ignored when ``autoscaling`` is given.
    num_replicas: int | None = Field(default=None, ge=1)
    #: Ray Serve's autoscaling_config, such as {"min_replicas": 1, "max_replicas": 4}.
    autoscaling: dict[str, Any] | None = None
    num_cpus: float | None = Field(default=None, ge=0)
    #: GPUs per replica; fractions share one GPU (0.5: two replicas per GPU).
    num_gpus: float | None = Field(default=None, ge=0)
    #: torch intra-op threads per replica (default: its CPUs, at least one).
    torch_threads: int | None = Field(default=None, ge=1)
    #: Requests one replica holds at once (its batch being gathered and the one running).
    max_ongoing_requests: int | None = Field(default=None, ge=1)
    #: Requests waiting for a replica; past it a request is refused as busy (HTTP 429).
    max_queued_requests: int | None = Field(default=None, ge=1)
    #: Models one replica keeps loaded (translation pairs: one model each); LRU unloads.
    max_models_per_replica: int | None = Field(default=None, ge=1)


class InferenceSettings(BaseSettings):
    # Empty values are sorted out by _empty_values below: most mean "the default", some
    # mean "none" (IMAGINE_SAFETY_CHECKER= switches the separate checker off).
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=False)

    #: Settings whose empty value means "none" rather than "the default".
    EMPTY_MEANS_NONE: ClassVar[frozenset[str]] = frozenset(
        {"imagine_safety_checker", "translate_preload", "preload"}
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_values(cls, data: Any) -> Any:
        """An empty value (``MAX_QUEUE=``) means the default, except for the settings in
        EMPTY_MEANS_NONE, where it means none and is kept."""
        if not isinstance(data, dict):
            return data
        return {
            key: value
            for key, value in data.items()
            if not (isinstance(value, str) and not value.strip())
            or str(key).lower() in cls.EMPTY_MEANS_NONE
        }

    # One model per task: a Hub id or a local directory.
    sentiment_model: str = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
    ner_model: str = "dbmdz/bert-large-cased-finetuned-conll03-english"
    qa_model: str = "distilbert/distilbert-base-cased-distilled-squad"
    summarize_model: str = "sshleifer/distilbart-cnn-12-6"
    translate_model: str = "Helsinki-NLP/opus-mt-{src}-{tgt}"
    classify_model: str = "facebook/bart-large-mnli"
    generate_model: str = "HuggingFaceTB/SmolLM2-360M-Instruct"
    imagine_model: str = "stabilityai/sd-turbo"
    speak_model: str = "facebook/mms-tts-eng"
    #: story: the model that writes its turns in /story (a chat model follows the
    #: instructions best); the same as GENERATE_MODEL by default, loaded apart from it.
    story_model: str = "HuggingFaceTB/SmolLM2-360M-Instruct"

    hf_token: SecretStr | None = None
    device: str = "auto"
    dtype: str = "auto"
    #: Tasks whose models load at start-up instead of on first use (comma-separated, or "all").
    preload: str = ""

    # Batching and backpressure defaults; TASK_LIMITS overrides them per task (JSON).
    max_batch_size: int = Field(default=64, ge=1)
    max_wait_ms: float = Field(default=5.0, ge=0)
    max_queue: int = Field(default=64, ge=1)
    max_per_user: int = Field(default=2, ge=1)
    #: Seconds a job may run, counted from when it starts (tasks may allow more).
    job_timeout_s: float = Field(default=120.0, gt=0)
    #: Seconds a job may wait in the queue (and for its model to load) before it starts.
    queue_timeout_s: float = Field(default=600.0, gt=0)
    #: Memory for loaded models on the device, in MB: a number, "auto" (80 % of a GPU's
    #: memory, 50 % of RAM on a CPU) or "off". Idle models unload, least recently used
    #: first, to make room.
    model_memory_mb: str = "auto"
    task_limits: dict[str, TaskLimits] = Field(default_factory=dict)

    # -- the HTTP server (python -m inference serve) and its clients --------------------
    #: The key clients must send as ``Authorization: Bearer ...``; the server refuses to
    #: listen on anything but loopback without one. Never logged.
    inference_api_key: SecretStr | None = None
    #: The largest request body the server reads, in MB (413 past it).
    server_max_body_mb: float = Field(default=1.0, gt=0, le=1024)

    # -- settings of single tasks ------------------------------------------------------
    # (each task's own section, in the order of the command table)

    #: sentiment: models per language, JSON {"ko": "...", "*": "..."}: a language code (or
    #: name) -> Hub id or directory; "*" reads the languages not named, "" takes a default
    #: away. It adds to the defaults (README, "Sentiment in every language"); English
    #: keeps SENTIMENT_MODEL unless this names "en". Parsed here (NoDecode) so that bad
    #: JSON or an unknown language is one line at start-up.
    sentiment_models: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    #: sentiment: two-class models answer "neutral" when P(positive) - P(negative) is
    #: within this of 0 (0 turns it off).
    sentiment_neutral_band: float = Field(default=0.2, ge=0, le=1)

    #: qa: an answer span scoring below this (P(start) * P(end)) is reported as unanswerable.
    qa_min_score: float = Field(default=0.1, ge=0, le=1)
    #: qa: the SQuAD 2 "no answer" rule (the model's [CLS] score beats the best span):
    #: auto (on for models trained with unanswerable questions, "squad2" in the id or
    #: config), true or false.
    qa_null_answer: Literal["auto", "true", "false"] = "auto"

    #: translate: models for single language pairs (Hub id or directory), overriding the
    #: TRANSLATE_MODEL template, JSON: {"en-ja": "Helsinki-NLP/opus-mt-en-jap"}; a
    #: multi-target model with its target token: {"en-pt": {"model":
    #: "Helsinki-NLP/opus-mt-en-ROMANCE", "target_token": ">>pt<<"}}.
    translate_pairs: dict[str, str | PairEntry] = Field(default_factory=dict)
    #: translate: the only language pairs users may load (comma-separated, "en-fr,fr-en");
    #: empty: every pair that has a model. A chain or a pivot needs each of its pairs.
    translate_allowed_pairs: str = ""
    #: translate: the language pairs whose models PRELOAD loads (comma-separated).
    translate_preload: str = "en-fr"

    #: imagine: default denoising steps; unset = by model family (turbo 1, others 25).
    imagine_steps: int | None = Field(default=None, ge=1, le=50)
    #: imagine: default guidance scale; unset = by family (turbo 0, else the pipeline's own).
    imagine_guidance: float | None = Field(default=None, ge=0, le=20)
    #: imagine: default image size such as 512x512; unset = the model's native size.
    imagine_size: str | None = None
    #: imagine: the largest width or height a request may ask for, in pixels; unset = by
    #: model family (turbo 512, others 1024).
    imagine_max_size: int | None = Field(default=None, ge=64, le=4096)
    #: imagine: compute attention in slices (less GPU memory, a little slower).
    imagine_attention_slicing: bool = False
    #: imagine: keep the model in RAM and move each part to the GPU only while it runs
    #: (CUDA only; much less GPU memory, slower).
    imagine_cpu_offload: bool = False
    #: imagine: the safety checker (Hub id or directory) that checks the images of models
    #: that ship none (sd-turbo, SDXL); empty: such images go unchecked.
    imagine_safety_checker: str = "CompVis/stable-diffusion-safety-checker"

    #: speak: the vocoder of SpeechT5 models (Hub id or directory); unused by VITS.
    speak_vocoder: str = "microsoft/speecht5_hifigan"
    #: speak: the x-vector dataset that integer SPEAK_VOICES index (Hub id or directory,
    #: split "validation", column "xvector"); unused by VITS.
    speak_xvectors: str = "regisss/cmu-arctic-xvectors"
    #: speak: SpeechT5 voices, JSON: name -> row of SPEAK_XVECTORS or path of a .npy
    #: x-vector, {"slt": 7306, "me": "/voices/me.npy"}. The default rows are CMU ARCTIC
    #: speakers (approximate: one row inside each speaker's block). VITS has one voice.
    speak_voices: dict[str, int | str] = Field(
        default_factory=lambda: {
            "slt": 7306,
            "clb": 2832,
            "bdl": 1699,
            "rms": 6231,
            "awb": 566,
            "jmk": 3965,
            "ksp": 5098,
        }
    )
    #: speak: the SpeechT5 voice of requests that name none.
    speak_voice: str = "slt"
    #: speak: characters of text one request may have.
    speak_max_chars: int = Field(default=2000, ge=1, le=10_000)
    #: speak: seconds of speech one request gets at most; longer speech is cut.
    speak_max_seconds: float = Field(default=120.0, gt=0)
    # -- documents: /docs, /ask and `python -m inference docs` (README "Your server's own
    # documents") -------------------------------------------------------------------------
    #: embed: the e5-style encoder of document passages and questions.
    embed_model: str = "intfloat/multilingual-e5-small"
    #: ask: a cross-encoder that reorders retrieved passages before they are read
    #: (Hub id or directory); empty: the merged retrieval order is used as it is.
    rerank_model: str = ""
    #: The document library on a Qdrant server (http://host:6333) instead of the SQLite
    #: file under DATA_DIR.
    qdrant_url: str = ""
    #: Where the bot and the command line keep what must outlive a restart (an SQLite
    #: file: the job journal, server settings, documents).
    data_dir: Path = Path("./data")

    #: speak: seed of the model's sampling noise, set before every pass, so that a text
    #: read alone sounds the same every time; negative: fresh noise each time.
    speak_seed: int = 0

    # -- Ray Serve (python -m inference serve --ray) ---------------------------------
    #: Per-task deployment options, JSON: task (or "default") -> RayDeployment fields,
    #: {"default": {"num_cpus": 1}, "imagine": {"num_gpus": 1}, "translate": {"num_replicas": 2}}.
    ray_deployments: dict[str, RayDeployment] = Field(default_factory=dict)

    @field_validator("qa_null_answer", mode="before")
    @classmethod
    def _yes_no_auto(cls, value: object) -> object:
        """QA_NULL_ANSWER also takes the usual spellings of yes and no."""
        word = str(value).strip().lower()
        return {"1": "true", "yes": "true", "on": "true", "0": "false", "no": "false"}.get(
            word, "false" if word == "off" else word
        )

    @field_validator("sentiment_models", mode="before")
    @classmethod
    def _language_map(cls, value: Any) -> dict[str, str]:
        return language_map(value)

    @field_validator("model_memory_mb")
    @classmethod
    def _memory_setting(cls, value: str) -> str:
        text = str(value).strip().lower()
        if text in {"auto", "off", "none", "unlimited"}:
            return text
        try:
            if float(text) > 0:
                return text
        except ValueError:
            pass
        raise ValueError("MODEL_MEMORY_MB must be a number of MB, auto or off")

    def model_for(self, task: str) -> str:
        """The configured model (Hub id or directory) of ``task``."""
        if task == "ask":  # documents are read by the /qa reader
            task = "qa"
        return getattr(self, f"{task}_model")

    def preload_tasks(self, known: list[str]) -> list[str]:
        """The task names listed in PRELOAD; "all" means every known task."""
        names = [n.strip().lower() for n in self.preload.split(",") if n.strip()]
        return list(known) if names == ["all"] else names

    def token(self) -> str | None:
        return self.hf_token.get_secret_value() if self.hf_token else None

    def api_key(self) -> str | None:
        """INFERENCE_API_KEY, or None when unset."""
        return self.inference_api_key.get_secret_value() if self.inference_api_key else None
