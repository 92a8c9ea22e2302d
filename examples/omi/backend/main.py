from fastapi import FastAPI

app = FastAPI()


@app.get("/v1/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
