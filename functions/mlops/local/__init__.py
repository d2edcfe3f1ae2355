"""The local cloud: the platform on moto, in one process, from the template that deploys.

Never shipped to AWS. `LocalCloud` starts moto (Step Functions execution on), creates the
CDK template's resources through the AWS APIs, runs Lambda handlers in-process through moto's
invoke seam, routes EventBridge events, fires schedules on `tick()` and evaluates alarms.
"""

from mlops.local.cloud import LocalCloud, LocalCloudError, settings_environment
from mlops.local.deploy import DeployError
from mlops.local.lambdas import HandlerError, Invocation
from mlops.local.router import Delivery
from mlops.local.template import TemplateError, load_template, synthesize

__all__ = [
    "Delivery",
    "DeployError",
    "HandlerError",
    "Invocation",
    "LocalCloud",
    "LocalCloudError",
    "TemplateError",
    "load_template",
    "settings_environment",
    "synthesize",
]
