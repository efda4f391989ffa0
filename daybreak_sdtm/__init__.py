"""daybreak-sdtm: raw clinical-trial exports -> CDISC SDTM packages, by declarative mapping specs."""

__version__ = "0.1.0"
