"""Widget explorers' logic, one module per lesson, as plain functions that tests can call.

Each function takes the widget values as arguments, draws on a matplotlib figure and
returns what it drew, so a test can set values and check the result without a browser.
"""
