"""The makemore playground web app: python app.py [--host 0.0.0.0] [--port 7860] [--share].

Data sets and runs live under $MAKEMORE_ROOT (default: this directory) in datasets/ and checkpoints/.
"""
import argparse

from makemore.ui import build_demo, launch_options


def main():
    p = argparse.ArgumentParser(description="makemore playground: train character-level models in the browser")
    p.add_argument("--host", default=None,
                   help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1; 0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=None, help="default: $GRADIO_SERVER_PORT or 7860")
    p.add_argument("--share", action="store_true", help="also make a temporary public gradio.live link")
    args = p.parse_args()
    demo = build_demo()
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, **launch_options(demo.ctx.ws))


if __name__ == "__main__":
    main()
