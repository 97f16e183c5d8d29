"""The emulated AWS account: template.yaml deployed on moto, no kinder than AWS.

Owns the account and the stack's deployment (``account``, ``stack``, ``template``, ``intrinsics``,
``template_variants``), IAM enforcement (``iam``), the functions' execution environments
(``environments``, on the Python their Runtime names: ``interpreters``, ``environment_process``),
one-off invocations (``invocation``, ``sample_events``), the corrections and hooks on moto
(``moto_fixes``, ``moto_hooks``; ``moto_targets``, the internals they replace) and the limits and
faults AWS would impose (``dynamodb_limits``, ``contention``, ``faults``).

May import the shipped package (``pagefan.*`` outside ``local``), :mod:`pagefan.local.project` and
moto; never :mod:`pagefan.local.client` or the command.
"""
