"""Streamlit UI: `streamlit run app/main.py`."""
