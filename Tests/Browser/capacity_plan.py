#!/usr/bin/env python3
"""The capacity plan in the console, in a real browser (Debian's chromium through chromium-driver
and Selenium). Run by CapacityEndToEndTests:

    capacity_plan.py BASE_URL

with resource db-1 of service billing (disk growing towards its limit, cpu over critical) and
the people olga (process owner) and rita (requester), each with the password
'<name> has a long password'. Prints one line per step and exits 1 at the first that does not hold."""
import sys

from selenium.webdriver.common.by import By

from console_helpers import absent, browser, go_to, sign_in, step, submit, text

base = sys.argv[1].rstrip("/")
assert base.startswith("http://127."), "loopback only"

driver = browser()
try:
    sign_in(driver, base, "olga")
    go_to(driver, "nav-capacity")
    step("olga: the capacity plan lists both metrics of db-1",
         driver.find_elements(By.ID, "metric-db-1-disk") and driver.find_elements(By.ID, "metric-db-1-cpu"))
    disk = text(driver, "metric-db-1-disk")
    step("olga: the disk says when it reaches its limit and what to do",
         "Reaches its limit" in disk and "Utilization" in disk and driver.find_element(
             By.CSS_SELECTOR, "#metric-db-1-disk .recommendation").text.strip() != "")
    step("olga: the cpu is critical", "critical" in text(driver, "metric-db-1-cpu"))
    # The chart is the process's SVG as an image: loaded, drawn, and allowed by the page's policy.
    loaded = driver.execute_script(
        "const i = document.querySelector('#metric-db-1-disk img.chart'); return i && i.complete && i.naturalWidth > 0;")
    step("olga: the disk's chart is drawn", loaded is True)
    driver.find_element(By.ID, "plan-service").send_keys("payroll")
    submit(driver, "plan-filter")
    step("olga: another service's plan has none of db-1's metrics", absent(driver, "metric-db-1-disk"))

    driver.delete_all_cookies()
    sign_in(driver, base, "rita")
    step("rita: no capacity plan in her menu", absent(driver, "nav-capacity"))
    driver.get(base + "/console/capacity")
    step("rita: the plan is refused, saying which permission it needs", "capacity.read" in text(driver, "error"))
    print("capacity plan: all steps passed")
finally:
    driver.quit()
