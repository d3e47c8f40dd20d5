"""Build-time patch of localstack-core 4.14.0 for the offline stand-in: the Lambda docker executor
pulls the runtime image before each new function even when the engine already holds it, and with
no reachable registry that pull fails the function (state Failed). pull_image now returns early for
an image that is present. Fails the build if the code it patches changed."""

import localstack.utils.container_utils.docker_sdk_client as module

path = module.__file__
text = open(path).read()
anchor = '        LOG.debug("Pulling Docker image: %s", docker_image)\n'
patch = anchor + ("        if self.client().images.list(name=docker_image):  # sandbox stand-in: no registry\n"
                  "            return\n")
assert anchor in text, "pull_image changed: update docker/localstack/patch_pull.py"
if patch not in text:
    open(path, "w").write(text.replace(anchor, patch, 1))
