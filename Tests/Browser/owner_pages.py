#!/usr/bin/env python3
"""Screenshots of the pages a process owner and an administrator open (dashboards, objectives,
service levels), for docs/images: deploy/local/console-screenshots.sh runs it after the
console's flows.

    owner_pages.py BASE_URL FOLDER

with the administrator ada (password 'ada has a long password')."""
import os
import sys

from selenium.webdriver.common.by import By

from console_helpers import browser, go_to, sign_in, step

base, shots = sys.argv[1].rstrip("/"), sys.argv[2]
assert base.startswith("http://127."), "loopback only"
driver = browser()
try:
    sign_in(driver, base, "ada")
    for nav, name in [("nav-dashboards", "dashboards"), ("nav-objectives", "objectives"), ("nav-service-levels", "service-levels")]:
        go_to(driver, nav)
        step(f"{name} opens", "message error" not in driver.page_source)
        driver.save_screenshot(os.path.join(shots, f"console-{name}.png"))
finally:
    driver.quit()
