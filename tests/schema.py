"""The public predict schema, written here independently of the code: the keys of a prediction
of the default model (``foldlens predict``'s files, the API's predictions)."""

SCHEMA = (
    "sequence", "mode", "ss3", "ss8", "rsa",
    "dist_ca_ca", "dist_ca_cb", "dist_cb_ca", "dist_cb_cb", "contact", "plddt", "pae",
)  # fmt: skip
