from pathlib import Path

# The SDK is a distribution of its own (sdk/) sharing this package's name: this app package
# would hide it, so `pipelines.sdk` is looked up in sdk/src/pipelines as well.
__path__.append(str(Path(__file__).resolve().parent.parent / "sdk" / "src" / "pipelines"))
