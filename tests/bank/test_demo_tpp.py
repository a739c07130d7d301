"""demo.json names every file the demo TPP needs: its signing key, its client certificate and that certificate's key."""

from __future__ import annotations

import json
import ssl

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from joserfc.jwk import ECKey

from bank.demo import seed_and_write_demo
from obank.certs import init_development_certificates
from obank.runtime import Platform
from obank.settings import PROJECT_ROOT


async def test_the_demo_tpp_can_authenticate_with_the_files_demo_json_names(platform: Platform) -> None:
    init_development_certificates(platform.settings.certs_dir)  # what `obank serve` does before seeding
    demo = json.loads((await seed_and_write_demo(platform, "https://127.0.0.1:8443")).read_text())
    tpp = demo["clients"]["tpp"]
    files = {name: PROJECT_ROOT / tpp[name] for name in ("private_key", "certificate", "certificate_key")}

    assert all(path.is_file() for path in files.values()), files
    ssl.create_default_context().load_cert_chain(files["certificate"], files["certificate_key"])  # a matching pair
    signing = ECKey.import_key(files["private_key"].read_bytes())
    signing.ensure_kid()
    assert signing.kid == tpp["key_id"]
    tls_key = load_pem_private_key(files["certificate_key"].read_bytes(), password=None)
    assert tls_key.public_key() != load_pem_private_key(files["private_key"].read_bytes(), password=None).public_key()
