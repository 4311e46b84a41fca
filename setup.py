"""Build configuration for the compiled hot path; everything else lives in pyproject.toml."""
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "neardup._sketch",
            sources=["src/neardup/_sketch.c"],
            extra_compile_args=["-O3", "-std=gnu11"],
        )
    ]
)
