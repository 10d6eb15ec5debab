"""Map the five top-level parts onto one import namespace, ``locent.<part>``.

The folders stay where a reader of the paper expects them (theory/, simulate/, ...), but
installing them as top-level packages would put generic names such as ``theory`` and ``figures``
into site-packages. Everything else lives in pyproject.toml.
"""

from setuptools import find_packages, setup

PARTS = ("theory", "simulate", "realdata", "figures", "paper_checks")

package_dir = {"locent": "locent"}
packages = ["locent", *(f"locent.{sub}" for sub in find_packages("locent"))]
for part in PARTS:
    package_dir[f"locent.{part}"] = part
    packages.append(f"locent.{part}")
    packages += [f"locent.{part}.{sub}" for sub in find_packages(part)]

setup(packages=packages, package_dir=package_dir)
