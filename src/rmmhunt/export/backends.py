"""Convert the Sigma rules to SPL, KQL, ES|QL, EQL and Lucene through pySigma backends.

pySigma and its backends are the optional `export` extra, so they are imported only here, when a
backend target is requested. A pipeline changes the rules it processes, so every conversion parses
the rules afresh.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, cast

from rmmhunt.export.result import ExportError
from rmmhunt.export.sigma import SigmaOptions

__all__ = ["BACKEND_TARGETS", "BackendTarget", "convert_rules"]


@dataclass(frozen=True)
class BackendTarget:
    """A pySigma backend with the processing pipeline it runs, and what it cannot express.

    Attributes:
        backend: `module:class` of the backend.
        pipeline: `module:function` that builds the processing pipeline.
        comment: the line-comment prefix of the query language, or None when it has none.
        options: what the Sigma rules given to this backend contain.
        dropped: what the target loses, beyond what Sigma itself loses.
    """

    backend: str
    pipeline: str
    comment: str | None
    options: SigmaOptions = field(default_factory=SigmaOptions)
    dropped: tuple[str, ...] = ()


_KUSTO_NO_SERVICES = (
    "service installs: the pipeline maps no table for System event 7045, so the service-install "
    "rule is left out"
)

BACKEND_TARGETS: dict[str, BackendTarget] = {
    "splunk": BackendTarget(
        "sigma.backends.splunk:SplunkBackend",
        "sigma.pipelines.splunk:splunk_windows_pipeline",
        # Splunk's search manual (9.0 and later, "Add comments to searches") reads text between
        # triple backticks as an inline comment.
        comment="```",
    ),
    "defender-kql": BackendTarget(
        "sigma.backends.kusto:KustoBackend",
        "sigma.pipelines.microsoftxdr:microsoft_xdr_pipeline",
        comment="//",
        options=SigmaOptions(service_installs=False),
        dropped=(_KUSTO_NO_SERVICES,),
    ),
    "sentinel-kql": BackendTarget(
        "sigma.backends.kusto:KustoBackend",
        "sigma.pipelines.sentinelasim:sentinel_asim_pipeline",
        comment="//",
        options=SigmaOptions(original_file_name=False, service_installs=False),
        dropped=(
            _KUSTO_NO_SERVICES,
            # NOTE: pySigma-backend-kusto 1.0.1 maps OriginalFileName to two columns, one of
            # which (TargetProcessFilename) its own imProcessCreate schema check rejects.
            "original file names: the Sentinel ASIM pipeline of pySigma-backend-kusto 1.0.1 "
            "fails on OriginalFileName, so processes are matched by image name and hash only",
        ),
    ),
    "esql": BackendTarget(
        "sigma.backends.elasticsearch:ESQLBackend",
        "sigma.pipelines.elasticsearch:ecs_windows",
        comment="//",
    ),
    "eql": BackendTarget(
        "sigma.backends.elasticsearch:EqlBackend",
        "sigma.pipelines.elasticsearch:ecs_windows",
        comment="//",
    ),
    "lucene": BackendTarget(
        "sigma.backends.elasticsearch:LuceneBackend",
        "sigma.pipelines.elasticsearch:ecs_windows",
        comment=None,
    ),
}


def _load(reference: str) -> Any:
    """Import `module:name` from the optional pySigma packages."""
    module_name, _, name = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ExportError(
            f"the pySigma package {module_name!r} is not installed ({error})",
            hint="install the export extra: pip install 'rmmhunt[export]'",
        ) from error
    return getattr(module, name)


def convert_rules(target: BackendTarget, rule_texts: list[str]) -> list[str]:
    """Convert each Sigma rule (YAML text) to queries of the target's backend, in order.

    Returns:
        The queries of each rule, joined by newlines when a rule gives several.

    Raises:
        ExportError: pySigma is missing, or the backend rejects a rule.
    """
    collection_type = _load("sigma.collection:SigmaCollection")
    backend_type = _load(target.backend)
    pipeline_factory = _load(target.pipeline)
    sigma_error = cast(type[Exception], _load("sigma.exceptions:SigmaError"))

    queries: list[str] = []
    for text in rule_texts:
        backend = backend_type(pipeline_factory())
        try:
            converted = backend.convert(collection_type.from_yaml(text))
        except sigma_error as error:
            raise ExportError(
                f"the pySigma backend {target.backend} rejected a rule: {error}",
                hint="export --to sigma and convert the rule with sigma-cli to see the details",
            ) from error
        queries.append("\n".join(str(query) for query in converted))
    return queries
