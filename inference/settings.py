"""Settings of the inference service, read from the environment and ``.env``.

Every field maps to the upper-case environment variable of the same name
(``sentiment_model`` <- ``SENTIMENT_MODEL``). ``.env.example`` lists them all.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class TaskLimits(BaseModel):
    """Batching and queueing limits of one task; unset fields fall back to the defaults."""

    max_batch_size: int | None = Field(default=None, ge=1)
    max_wait_ms: float | None = Field(default=None, ge=0)
    max_queue: int | None = Field(default=None, ge=1)
    timeout_s: float | None = Field(default=None, gt=0)


class InferenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

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

    hf_token: SecretStr | None = None
    device: str = "auto"
    dtype: str = "auto"
    #: Tasks whose models load at start-up instead of on first use (comma-separated, or "all").
    preload: str = ""

    # Batching and backpressure defaults; TASK_LIMITS overrides them per task (JSON).
    max_batch_size: int = Field(default=16, ge=1)
    max_wait_ms: float = Field(default=5.0, ge=0)
    max_queue: int = Field(default=64, ge=1)
    max_per_user: int = Field(default=2, ge=1)
    job_timeout_s: float = Field(default=120.0, gt=0)
    task_limits: dict[str, TaskLimits] = Field(default_factory=dict)

    # -- settings of single tasks ------------------------------------------------------
    # (each task's own section, in the order of the command table)

    def model_for(self, task: str) -> str:
        """The configured model (Hub id or directory) of ``task``."""
        return getattr(self, f"{task}_model")

    def preload_tasks(self, known: list[str]) -> list[str]:
        """The task names listed in PRELOAD; "all" means every known task."""
        names = [n.strip().lower() for n in self.preload.split(",") if n.strip()]
        return list(known) if names == ["all"] else names

    def token(self) -> str | None:
        return self.hf_token.get_secret_value() if self.hf_token else None
